//! The generated `chatter-cli` binary, driven as a user would.

mod common;
use common::{bounded, start};

/// `chatter-cli --url <base> <args>`.
async fn cli(base: &str, args: &[&str], input: &str) -> (bool, String, String) {
    let mut all = vec!["--url", base];
    all.extend_from_slice(args);
    common::cli(&all, input).await
}

#[tokio::test]
async fn login_then_echoer_summary_and_history_from_the_terminal() {
    bounded(async {
        let server = start().await;
        let (ok, out, err) = cli(
            &server.base,
            &["chatter", "login", "--user", "goa", "--password", "rocks"],
            "",
        )
        .await;
        assert!(ok, "{err}");
        let token: String = serde_json::from_str(out.trim()).expect("a JSON string");

        let (ok, out, err) = cli(
            &server.base,
            &["chatter", "echoer", "--token", &token],
            "hello\nworld\n",
        )
        .await;
        assert!(ok, "{err}");
        assert_eq!(out, "\"hello\"\n\"world\"\n");

        let (ok, out, err) = cli(
            &server.base,
            &["chatter", "summary", "--token", &token],
            "abc\n",
        )
        .await;
        assert!(ok, "{err}");
        let summary: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(summary[0]["message"], "abc");
        assert_eq!(summary[0]["length"], 3);

        let (ok, out, err) = cli(
            &server.base,
            &["chatter", "history", "--token", &token, "--view", "tiny"],
            "",
        )
        .await;
        assert!(ok, "{err}");
        assert_eq!(
            out,
            "{\"message\":\"hello\"}\n{\"message\":\"world\"}\n{\"message\":\"abc\"}\n"
        );
    })
    .await;
}

#[tokio::test]
async fn refusals_are_reported_with_a_failing_exit_code() {
    bounded(async {
        let server = start().await;
        let (ok, _, err) = cli(
            &server.base,
            &["chatter", "login", "--user", "goa", "--password", "nope"],
            "",
        )
        .await;
        assert!(!ok);
        assert_eq!(
            err.trim(),
            "error: unauthorized: invalid username and password combination"
        );
        let (ok, _, err) = cli(&server.base, &["chatter", "history", "--token", "bad"], "").await;
        assert!(!ok);
        assert_eq!(err.trim(), "error: unauthorized: invalid token");
        let (ok, _, err) = cli(&server.base, &["chatter", "history"], "").await;
        assert!(!ok);
        assert!(
            err.contains("--token <token>"),
            "clap names the missing flag: {err}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_server_binary_lists_the_connection_flags() {
    bounded(async {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatter"))
            .arg("--help")
            .output()
            .await
            .expect("chatter --help");
        let help = String::from_utf8_lossy(&out.stdout);
        for flag in [
            "--compression",
            "--max-message-bytes",
            "--ping-interval",
            "--tls-cert",
        ] {
            assert!(help.contains(flag), "{flag} missing from:\n{help}");
        }
    })
    .await;
}

#[tokio::test]
async fn who_lists_the_subscribers_from_the_terminal() {
    bounded(async {
        let server = start().await;
        let token = common::login(&server.base).await;
        let (ok, out, err) = cli(&server.base, &["chatter", "who", "--token", &token], "").await;
        assert!(ok, "{err}");
        assert_eq!(out, "[]\n");
        let _sub = ::chatter::chatter::client::Client::new(&server.base)
            .subscribe(&::chatter::chatter::SubscribePayload {
                token: token.clone(),
                name: Some("ann".into()),
            })
            .await
            .expect("subscribe");
        // Present once its method runs, a moment after the 101: each look is
        // a round trip.
        let mut listed = String::new();
        for _ in 0..1_000 {
            let (ok, out, err) =
                cli(&server.base, &["chatter", "who", "--token", &token], "").await;
            assert!(ok, "{err}");
            if out != "[]\n" {
                listed = out;
                break;
            }
        }
        let who: serde_json::Value = serde_json::from_str(&listed).expect("a JSON array");
        assert_eq!(who[0]["name"], "ann");
        assert!(who[0]["id"].as_str().is_some_and(|id| !id.is_empty()));
    })
    .await;
}
