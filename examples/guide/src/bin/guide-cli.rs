//! `guide-cli`: the guide's command-line client, generated from the design.
//!
//! ```text
//! guide-cli chat echo                       # stdin lines are echoed back as JSON
//! guide-cli monitor analytics --view summary --rounds 3
//! ```

#[tokio::main]
async fn main() -> std::process::ExitCode {
    guide::cli::main().await
}
