//! Chatter over TLS: `https://` login and `wss://` streams, from the generated CLI
//! trusting a private CA.

mod common;

use chatter::auth::AuthConfig;
use common::{bounded, cli, KEY};

/// `chatter-cli login` against `url`, trusting the CA in `ca`.
async fn login(url: &str, ca: &str) -> (bool, String, String) {
    let args = ["--url", url, "--ca-file", ca, "chatter", "login"];
    let credentials = ["--user", "goa", "--password", "rocks"];
    cli(&[&args[..], &credentials[..]].concat(), "").await
}

/// Serves chatter over TLS with `options`, on a certificate for `localhost`
/// signed by a fresh CA: the address, and the CA's file for clients.
async fn serve_tls(options: nagare::ServerOptions) -> (std::net::SocketAddr, String) {
    let nagare_testkit::Certificates { ca, cert, key } = nagare_testkit::certificates();
    let app = chatter::service::Chatter::new(
        AuthConfig::with_key(KEY),
        chatter::chatter::Rooms::new(nagare::MemoryBroker::new().shared()),
    )
    .router(options.clone());
    let tls = nagare::tls::server_config(&cert, &key).expect("tls config");
    let listener = nagare::server::Listener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .with_tls(tls);
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        options
            .serve(listener, app, std::time::Duration::from_secs(5))
            .await
    });
    (addr, ca.to_string_lossy().into_owned())
}

#[tokio::test]
async fn the_cli_logs_in_and_echoes_over_tls() {
    bounded(async {
        let options = nagare::ServerOptions::new();
        let (addr, ca) = serve_tls(options.clone()).await;
        let url = format!("https://localhost:{}", addr.port());

        let (ok, out, err) = login(&url, &ca).await;
        assert!(ok, "{err}");
        let token = out.trim().trim_matches('"').to_owned();

        let (ok, out, err) = cli(
            &[
                "--url",
                &url,
                "--ca-file",
                &ca,
                "chatter",
                "echoer",
                "--token",
                &token,
            ],
            "secure\n",
        )
        .await;
        assert!(ok, "{err}");
        assert_eq!(out, "\"secure\"\n");

        // Without the CA the certificate is refused.
        let (ok, _, err) = cli(
            &[
                "--url",
                &url,
                "chatter",
                "login",
                "--user",
                "goa",
                "--password",
                "rocks",
            ],
            "",
        )
        .await;
        assert!(!ok);
        assert!(err.contains("error"), "{err}");
        options.shutdown.cancel();
    })
    .await;
}

#[tokio::test]
async fn a_tls_handshake_that_never_comes_is_closed_at_the_deadline() {
    use tokio::io::AsyncReadExt;
    bounded(async {
        let mut options = nagare::ServerOptions::new();
        options.limits.handshake_timeout = std::time::Duration::from_millis(300);
        let (addr, ca) = serve_tls(options).await;
        // Connects, then says nothing: no ClientHello.
        let mut silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let started = std::time::Instant::now();
        let mut buf = [0u8; 64];
        let n = silent.read(&mut buf).await.unwrap_or(0);
        assert_eq!(n, 0, "the server closes without a word");
        assert!(started.elapsed() >= std::time::Duration::from_millis(200));
        // A real client is served.
        let url = format!("https://localhost:{}", addr.port());
        let (ok, _, err) = login(&url, &ca).await;
        assert!(ok, "{err}");
    })
    .await;
}
