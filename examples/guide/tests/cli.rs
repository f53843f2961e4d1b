//! The generated `guide-cli` binary, driven as a user would from a terminal.

mod common;

use std::process::Stdio;

use common::{bounded, start};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Runs `guide-cli` with `args`, feeding `input` on stdin; returns (success,
/// stdout, stderr).
async fn cli(base: &str, args: &[&str], input: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_guide-cli"))
        .arg("--url")
        .arg(base)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn guide-cli");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(input.as_bytes())
        .await
        .expect("write stdin");
    drop(stdin);
    let out = child.wait_with_output().await.expect("guide-cli output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn echo_prints_one_json_line_per_input_line() {
    bounded(async {
        let server = start().await;
        let (ok, out, err) = cli(&server.base, &["chat", "echo"], "hello\nworld\n").await;
        assert!(ok, "{err}");
        assert_eq!(out, "{\"message\":\"hello\"}\n{\"message\":\"world\"}\n");
    })
    .await;
}

#[tokio::test]
async fn listener_sends_lines_and_ends_cleanly() {
    bounded(async {
        let server = start().await;
        let (ok, out, err) = cli(&server.base, &["chat", "listener"], "a\nb\nc\n").await;
        assert!(ok, "{err}");
        assert_eq!(out, "");
        common::wait_for_metric(&server.base, "listener_messages_total", 3.0).await;
    })
    .await;
}

#[tokio::test]
async fn analytics_prints_the_chosen_view() {
    bounded(async {
        let server = start().await;
        let (ok, out, err) = cli(
            &server.base,
            &[
                "monitor",
                "analytics",
                "--view",
                "summary",
                "--rounds",
                "1",
                "--interval-ms",
                "10",
            ],
            "",
        )
        .await;
        assert!(ok, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert!(
            lines[0].starts_with("{\"metric\":\"messages_total\",\"value\":"),
            "{out}"
        );
    })
    .await;
}

#[tokio::test]
async fn server_errors_are_reported_with_a_failing_exit_code() {
    bounded(async {
        let server = start().await;
        let (ok, _, err) = cli(
            &server.base,
            &["monitor", "analytics", "--view", "nope"],
            "",
        )
        .await;
        assert!(!ok);
        assert!(err.contains("HTTP 400"), "{err}");
        assert!(err.contains("invalid_enum_value"), "{err}");
        let (ok, _, err) = cli(&server.base, &["chat", "echo"], "\n").await;
        assert!(ok, "an empty line is skipped, not sent: {err}");
    })
    .await;
}

#[tokio::test]
async fn an_invalid_flag_value_is_reported_once_without_dialing() {
    bounded(async {
        let server = start().await;
        let (ok, _, err) = cli(
            &server.base,
            &["monitor", "analytics", "--interval-ms", "5"],
            "",
        )
        .await;
        assert!(!ok);
        let cause = "interval_ms must be greater or equal than 10";
        assert_eq!(err.matches(cause).count(), 1, "{err}");
        assert!(err.starts_with("error: invalid payload: "), "{err}");
    })
    .await;
}

/// The message of the next event `guide-cli subscribe` prints.
async fn next_event(
    out: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
) -> String {
    let line = out.next_line().await.expect("stdout").expect("a line");
    let event: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
    event["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn subscribe_with_reconnect_resumes_after_a_cut() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    bounded(async {
        let server = start().await;
        let proxy = nagare_testkit::proxy::Proxy::start(server.addr).await;
        let mut child = Command::new(env!("CARGO_BIN_EXE_guide-cli"))
            .arg("--url")
            .arg(proxy.url())
            .args(["chat", "subscribe", "--reconnect"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn guide-cli");
        let mut out = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut err = BufReader::new(child.stderr.take().expect("stderr")).lines();
        common::wait_for_metric(&server.base, "subscribers", 1.0).await;
        let mut listener = guide::chat::client::Client::new(&server.base)
            .listener()
            .await
            .expect("listener");
        let message = |text: &str| guide::chat::ListenerStreamingPayload {
            message: text.to_owned(),
        };
        listener.send(&message("one")).await.expect("send");
        listener.send(&message("two")).await.expect("send");
        assert_eq!(next_event(&mut out).await, "one");
        assert_eq!(next_event(&mut out).await, "two");

        proxy.cut();
        listener.send(&message("three")).await.expect("send");
        assert_eq!(next_event(&mut out).await, "three");
        let mut seen = Vec::new();
        loop {
            let line = err.next_line().await.expect("stderr").expect("a line");
            seen.push(line.clone());
            // After message 2, or 3 if that one slipped through before the cut.
            if line.starts_with("connected, resuming after message ") {
                break;
            }
        }
        assert!(
            seen.iter().any(|l| l.starts_with("reconnecting in ")),
            "{seen:?}"
        );
        child.kill().await.expect("kill guide-cli");
    })
    .await;
}
