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
