//! The Prometheus endpoint reflects connections, traffic, dead peers and refused
//! handshakes. One test in its own binary: the recorder is process-wide.

#![cfg(feature = "prometheus")]

mod support;

use std::time::Duration;

use nagare::{BidiClientStream, BidiServerStream, ServerOptions, ServerStream, StreamError};
use support::{bounded, raw_upgrade, read_to_end, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(addr: std::net::SocketAddr, request: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.expect("read");
    out
}

fn value(metrics: &str, line_start: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in\n{metrics}"))
}

#[tokio::test]
async fn metrics_reflect_what_happened() {
    bounded(async {
        let handle = nagare::metrics::install().expect("recorder");
        // Its upkeep runs whether or not anything scrapes: without it the
        // histogram samples of every write batch pile up.
        let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
            .expect("threads")
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .collect();
        assert!(
            threads.iter().any(|n| n.trim() == nagare::metrics::UPKEEP_THREAD),
            "no upkeep thread among {threads:?}"
        );
        let metrics_app = nagare::metrics::router(handle);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let metrics_addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { nagare::axum::serve(listener, metrics_app).await });

        // An echo, used once and closed.
        let echo = serve(ServerOptions::new(), |conn| async move {
            let mut s = BidiServerStream::<String, String>::new(conn, None);
            while let Some(m) = s.recv().await? {
                s.send(&m).await?;
            }
            Ok::<_, StreamError>(())
        })
        .await;
        let conn = support::dial(echo).await;
        let mut c = BidiClientStream::<String, String>::new(conn, None);
        c.send(&"hi".to_owned()).await.expect("send");
        c.recv().await.expect("echo");
        c.close().await.expect("close");
        assert_eq!(c.recv().await.expect("end"), None);

        // A peer that never answers pings.
        let mut fast = ServerOptions::new();
        fast.conn.ping_interval = Some(Duration::from_millis(50));
        fast.conn.pong_timeout = Duration::from_millis(50);
        let silent = serve(fast, |conn| async move {
            ServerStream::<String>::new(conn, None).closed().await;
            Ok::<_, StreamError>(())
        })
        .await;
        let mut tcp = raw_upgrade(silent).await;
        read_to_end(&mut tcp).await;

        // A compressed connection, and a message over the 1 MiB limit (1009).
        let mut deflating = ServerOptions::new();
        deflating.conn.compression = Some(nagare::ws::Compression::default());
        let big = serve(deflating, |conn| async move {
            let mut s = BidiServerStream::<String, String>::new(conn, None);
            while let Some(m) = s.recv().await? {
                s.send(&m).await?;
            }
            Ok::<_, StreamError>(())
        })
        .await;
        let offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
        let (mut tcp, head) = nagare_testkit::wire::send_head(big, &nagare_testkit::wire::go_upgrade_request(big, "/s", offer)).await;
        assert!(head.to_ascii_lowercase().contains("permessage-deflate"), "{head}");
        let _ = tcp
            .write_all(&nagare_testkit::wire::frame(0x2, true, &vec![b'x'; 2 << 20]))
            .await;
        read_to_end(&mut tcp).await;

        // A refused origin.
        let refused = get(echo, "GET /s HTTP/1.1\r\nHost: a\r\nOrigin: https://b\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").await;
        assert!(refused.starts_with("HTTP/1.1 403"));

        // Slow consumers: one whose queue overflows under drop-oldest, one that is
        // disconnected (1013) when its queue fills.
        for (policy, sends) in [(nagare::SlowConsumer::DropOldest, 5_000), (nagare::SlowConsumer::Disconnect(1013), 100_000)] {
            let mut slow = ServerOptions::new();
            slow.conn.outbound_queue = 4;
            slow.conn.slow_consumer = policy;
            slow.conn.close_timeout = Duration::from_millis(100);
            slow.conn.write_timeout = Duration::from_millis(300);
            let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
            let addr = serve(slow, move |conn| {
                let done = done_tx.clone();
                async move {
                    let mut s = ServerStream::<String>::new(conn, None);
                    let chunk = "x".repeat(16 * 1024);
                    for _ in 0..sends {
                        if s.send(&chunk).await.is_err() {
                            break;
                        }
                    }
                    let _ = done.send(());
                    Ok::<_, StreamError>(())
                }
            })
            .await;
            let _peer = raw_upgrade(addr).await;
            done_rx.recv().await.expect("the sender finished");
        }

        // A graceful shutdown.
        let stopping = ServerOptions::new();
        let quiet = serve(stopping.clone(), |conn| async move {
            ServerStream::<String>::new(conn, None).closed().await;
            Ok::<_, StreamError>(())
        })
        .await;
        let conn = support::dial(quiet).await;
        let _client = nagare::ClientStream::<String>::new(conn, None);
        while stopping.connections.is_empty() {
            tokio::task::yield_now().await;
        }
        assert_eq!(stopping.shutdown_gracefully(Duration::from_secs(5)).await.abandoned, 0);

        // Connection ends are recorded by their tasks a moment after the client
        // sees them: read until the counters show up.
        let mut text;
        loop {
            text = get(metrics_addr, "GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n").await;
            if text.contains("reason=\"done\"")
                && text.contains("reason=\"shutdown\"")
                && text.contains("nagare_protocol_errors_total")
                && text.contains("nagare_connections_dead_total")
            {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(text.starts_with("HTTP/1.1 200"));
        // The echo, the silent peer, the compressed one, two slow consumers and the
        // shutdown.
        assert_eq!(value(&text, "nagare_connections_opened_total{service=\"test\",method=\"test\"}"), 6.0);
        assert!(value(&text, "nagare_connections_closed_total{service=\"test\",method=\"test\",reason=\"done\"}") >= 1.0);
        assert_eq!(value(&text, "nagare_connections_dead_total"), 1.0);
        assert_eq!(value(&text, "nagare_handshake_failures_total{reason=\"origin\"}"), 1.0);
        assert_eq!(value(&text, "nagare_connections_closed_total{service=\"test\",method=\"test\",reason=\"shutdown\"}"), 1.0);
        assert!(value(&text, "nagare_messages_dropped_total") >= 1.0);
        assert_eq!(value(&text, "nagare_slow_consumers_total{action=\"disconnect\"}"), 1.0);
        assert!(value(&text, "nagare_messages_total{direction=\"in\"}") >= 2.0);
        assert!(text.contains("nagare_send_queue_depth"), "{text}");
        assert_eq!(value(&text, "nagare_compressed_connections_total"), 1.0);
        assert_eq!(value(&text, "nagare_protocol_errors_total{code=\"1009\"}"), 1.0);
        assert!(value(&text, "nagare_bytes_total{direction=\"out\"}") >= "\"hi\"\n".len() as f64);
    })
    .await;
}
