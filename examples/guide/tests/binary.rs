//! The `guide` server binary, run as an operator would: its flags, its metrics
//! page from the first scrape, and a limit set on its command line.

mod common;

use common::bounded;
use nagare_testkit::process::ServerProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

/// Every metric the runtime exports, each with its type.
const METRICS: &[(&str, &str)] = &[
    ("nagare_connections_active", "gauge"),
    ("nagare_connections_opened_total", "counter"),
    ("nagare_connections_closed_total", "counter"),
    ("nagare_connections_dead_total", "counter"),
    ("nagare_connections_swept_total", "counter"),
    ("nagare_messages_total", "counter"),
    ("nagare_bytes_total", "counter"),
    ("nagare_slow_consumers_total", "counter"),
    ("nagare_messages_dropped_total", "counter"),
    ("nagare_send_queue_depth", "summary"),
    ("nagare_protocol_errors_total", "counter"),
    ("nagare_compressed_connections_total", "counter"),
    ("nagare_handshake_failures_total", "counter"),
    ("nagare_errors_total", "counter"),
    ("nagare_broker_errors_total", "counter"),
    ("nagare_broker_reconnects_total", "counter"),
    ("nagare_broker_gap_repairs_total", "counter"),
    ("nagare_broker_delivery_lag_seconds", "summary"),
];

/// Starts `guide` on a free loopback port with `flags`.
async fn guide(flags: &[&str]) -> ServerProcess {
    let mut args = vec!["--addr", "127.0.0.1:0"];
    args.extend_from_slice(flags);
    ServerProcess::start(env!("CARGO_BIN_EXE_guide"), &args).await
}

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.expect("request");
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.expect("response");
    out
}

#[tokio::test]
async fn help_lists_the_connection_flags() {
    bounded(async {
        let out = Command::new(env!("CARGO_BIN_EXE_guide"))
            .arg("--help")
            .output()
            .await
            .expect("guide --help");
        let help = String::from_utf8_lossy(&out.stdout);
        for flag in [
            "--compression",
            "--max-message-bytes",
            "--ping-interval",
            "--pong-timeout",
            "--idle-timeout",
            "--outbound-queue",
            "--origin",
        ] {
            assert!(help.contains(flag), "{flag} missing from:\n{help}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_first_scrape_lists_every_metric_at_zero() {
    bounded(async {
        let guide = guide(&[]).await;
        let addr = guide.addr();
        let page = get(addr, "/metrics").await;
        for (name, kind) in METRICS {
            assert!(
                page.contains(&format!("# HELP {name} ")),
                "no help for {name}:\n{page}"
            );
            assert!(
                page.contains(&format!("# TYPE {name} {kind}\n")),
                "no type for {name}:\n{page}"
            );
        }
        for series in [
            "nagare_connections_active{service=\"chat\",method=\"echo\"} 0",
            "nagare_connections_active{service=\"monitor\",method=\"analytics\"} 0",
            "nagare_handshake_failures_total{reason=\"origin\"} 0",
            "nagare_messages_total{direction=\"in\"} 0",
        ] {
            assert!(page.contains(series), "no {series} in:\n{page}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_message_over_max_message_bytes_is_closed_with_1009() {
    bounded(async {
        let guide = guide(&["--max-message-bytes", "100"]).await;
        let addr = guide.addr();
        let mut echo = guide::chat::client::Client::new(format!("http://{addr}"))
            .echo()
            .await
            .expect("echo");
        let small = guide::chat::EchoStreamingPayload {
            message: "x".repeat(50),
        };
        echo.send(&small).await.expect("send");
        assert_eq!(
            echo.recv().await.expect("echoed").map(|m| m.message),
            Some(small.message)
        );
        let large = guide::chat::EchoStreamingPayload {
            message: "x".repeat(200),
        };
        echo.send(&large).await.expect("send");
        match echo.recv().await {
            Err(nagare::StreamError::Closed { code, .. }) => assert_eq!(code, 1009),
            other => panic!("expected close 1009, got {other:?}"),
        }
    })
    .await;
}
