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
    ("nagare_messages_total", "counter"),
    ("nagare_bytes_total", "counter"),
    ("nagare_slow_consumers_total", "counter"),
    ("nagare_messages_dropped_total", "counter"),
    ("nagare_send_queue_depth", "summary"),
    ("nagare_protocol_errors_total", "counter"),
    ("nagare_compressed_connections_total", "counter"),
    ("nagare_handshake_failures_total", "counter"),
    ("nagare_errors_total", "counter"),
    ("nagare_server_connections", "gauge"),
    ("nagare_connections_refused_total", "counter"),
    ("nagare_handshake_timeouts_total", "counter"),
    ("nagare_accept_errors_total", "counter"),
    ("nagare_broker_errors_total", "counter"),
    ("nagare_broker_reconnects_total", "counter"),
    ("nagare_broker_gap_repairs_total", "counter"),
    ("nagare_broker_delivery_lag_seconds", "summary"),
    ("nagare_broker_connected", "gauge"),
    ("nagare_broker_publishes_pending", "gauge"),
    ("nagare_broker_publish_failures_total", "counter"),
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

/// The value of a metric (summed over its labels) on the guide's page.
async fn metric(addr: std::net::SocketAddr, name: &str, label: Option<&str>) -> f64 {
    get(addr, "/metrics")
        .await
        .lines()
        .filter(|l| l.starts_with(name) && label.is_none_or(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn out_of_descriptors_the_server_refuses_politely_and_recovers() {
    use tokio::io::AsyncReadExt;
    bounded(async {
        // 128 descriptors: the server takes 128 - 64 = 64 connections and
        // keeps the rest for itself.
        let guide = ServerProcess::start(
            "sh",
            &[
                "-c",
                "ulimit -n 128 && exec \"$0\" \"$@\"",
                env!("CARGO_BIN_EXE_guide"),
                "--addr",
                "127.0.0.1:0",
                "--header-timeout",
                "60s",
            ],
        )
        .await;
        let addr = guide.addr();
        let mut held = Vec::new();
        for _ in 0..64 {
            held.push(tokio::net::TcpStream::connect(addr).await.expect("connect"));
        }
        // The 65th is answered at once, not left waiting.
        let (mut refused, head) = nagare_testkit::wire::send_head(
            addr,
            &nagare_testkit::wire::go_upgrade_request(addr, "/echo", ""),
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("retry-after: 1\r\n"),
            "{head}"
        );
        let mut rest = Vec::new();
        let _ = refused.read_to_end(&mut rest).await;
        // More sockets than descriptors left: accept fails, and backs off.
        for _ in 0..80 {
            held.push(tokio::net::TcpStream::connect(addr).await.expect("connect"));
        }
        let pid = guide.pid().expect("pid");
        let cpu = || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
            let rest = stat.rsplit_once(')').expect("stat").1.to_owned();
            let f: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            f[10] + f[11]
        };
        let before = cpu();
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let spent = cpu() - before;
        assert!(
            spent < 20,
            "{spent} ticks of CPU in a second without descriptors"
        );
        // Descriptors come back: the server serves again.
        drop(held);
        let mut tries = 0;
        loop {
            let (_, head) = nagare_testkit::wire::send_head(
                addr,
                &nagare_testkit::wire::go_upgrade_request(addr, "/echo", ""),
            )
            .await;
            if head.starts_with("HTTP/1.1 101 ") {
                break;
            }
            tries += 1;
            assert!(tries < 2000, "never served again: {head}");
            tokio::task::yield_now().await;
        }
        assert!(metric(addr, "nagare_accept_errors_total", None).await >= 1.0);
        assert!(
            metric(
                addr,
                "nagare_connections_refused_total",
                Some("max_connections")
            )
            .await
                >= 1.0
        );
    })
    .await;
}

#[tokio::test]
async fn metrics_can_be_served_apart_from_the_public_listener() {
    bounded(async {
        let guide = guide(&["--metrics-addr", "127.0.0.1:0"]).await;
        let line = guide.log_lines("served apart", 1).await.remove(0);
        let metrics: std::net::SocketAddr = line
            .split("operators=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let public = get(guide.addr(), "/metrics").await;
        assert!(public.starts_with("HTTP/1.1 404"), "{public}");
        let apart = get(metrics, "/metrics").await;
        assert!(apart.starts_with("HTTP/1.1 200"), "{apart}");
        assert!(apart.contains("nagare_connections_active"), "{apart}");
    })
    .await;
}

#[tokio::test]
async fn redis_credentials_are_never_printed() {
    bounded(async {
        let url = "redis://user:topsecret@127.0.0.1:notaport/0";
        // Not in --help, though the environment has it.
        let help = Command::new(env!("CARGO_BIN_EXE_guide"))
            .arg("--help")
            .env("NAGARE_REDIS_URL", url)
            .output()
            .await
            .expect("guide --help");
        let help = String::from_utf8_lossy(&help.stdout);
        assert!(help.contains("--redis"), "{help}");
        assert!(!help.contains("topsecret"), "{help}");
        // Nor in the error about an invalid URL.
        let out = Command::new(env!("CARGO_BIN_EXE_guide"))
            .args(["--addr", "127.0.0.1:0", "--redis", url])
            .output()
            .await
            .expect("guide");
        assert!(!out.status.success());
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(printed.contains("invalid Redis URL"), "{printed}");
        assert!(!printed.contains("topsecret"), "{printed}");
    })
    .await;
}
