#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Without a subscriber the server logs nothing, not even why it closed a stream.
    tracing_subscriber::fmt().init();
    let options = nagare::ServerOptions::new();
    let app = hello::greeter::server::router(hello::Hello, options.clone());
    let listener = nagare::server::Listener::bind("127.0.0.1:8080").await?;
    // Until Ctrl-C or SIGTERM; then every stream is closed with 1001, waiting up to 10 s.
    options
        .serve(listener, app, std::time::Duration::from_secs(10))
        .await?;
    Ok(())
}
