//! `chatter-cli`: chatter's command-line client, generated from the design.
//!
//! ```text
//! TOKEN=$(chatter-cli chatter login --user goa --password rocks | tr -d '"')
//! chatter-cli chatter echoer --token "$TOKEN"      # stdin lines are messages
//! chatter-cli chatter history --token "$TOKEN" --view tiny
//! ```

#[tokio::main]
async fn main() -> std::process::ExitCode {
    chatter::cli::main().await
}
