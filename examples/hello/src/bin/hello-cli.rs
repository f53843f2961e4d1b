#[tokio::main]
async fn main() -> std::process::ExitCode {
    hello::cli::main().await
}
