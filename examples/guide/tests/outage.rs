//! When the broker goes away, against `guide` processes on a Redis of the
//! test's own, killed and started again: a publish the server accepted is
//! done once Redis is back, even after its client left, or fails loudly
//! (logged, counted, and the client told if it is still there); `/readyz`
//! says so meanwhile, and turns not-ready at SIGTERM before connections are
//! closed (`docs/runtime.md`, "When the broker goes away").

mod common;

use std::time::{Duration, Instant};

use common::bounded;
use guide::chat;
use nagare_testkit::process::ServerProcess;
use nagare_testkit::redis::RedisServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn node(redis: &RedisServer, flags: &[&str]) -> ServerProcess {
    let url = redis.url();
    let mut args = vec!["--addr", "127.0.0.1:0", "--redis", &url];
    args.extend_from_slice(flags);
    ServerProcess::start(env!("CARGO_BIN_EXE_guide"), &args).await
}

/// The status and body of `GET path`.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.expect("request");
    let mut out = String::new();
    let _ = tcp.read_to_string(&mut out).await;
    let status = out.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, out)
}

/// Asks `/readyz` as a probe does (every 20 ms) until it answers `status`.
async fn ready_becomes(addr: std::net::SocketAddr, status: u16) -> String {
    loop {
        let (got, body) = get(addr, "/readyz").await;
        if got == status {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `messages` on `/echo` and reads their echoes.
async fn echo(echo: &mut chat::EchoClientStream, messages: std::ops::RangeInclusive<u64>) {
    for i in messages {
        let sent = chat::EchoStreamingPayload {
            message: i.to_string(),
        };
        echo.send(&sent).await.expect("send");
        assert_eq!(
            echo.recv().await.expect("echo").map(|m| m.message),
            Some(i.to_string())
        );
    }
}

/// Receives events numbered `from..=to`, once and in order.
async fn events(sub: &mut chat::SubscribeClientStream, from: u64, to: u64) {
    for i in from..=to {
        match sub.recv().await {
            Ok(Some(e)) => assert_eq!(e.message, i.to_string()),
            other => panic!("event {i} expected, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_echo_client_that_leaves_during_an_outage_loses_nothing() {
    bounded(async {
        let mut redis = RedisServer::start().await;
        let (a, b) = (node(&redis, &[]).await, node(&redis, &[]).await);
        let mut sub = chat::client::Client::new(a.base())
            .subscribe()
            .await
            .expect("subscribe");
        // Following the room (its position read) before anything is published.
        let mut states = sub.states();
        let receiving = tokio::spawn(async move { events(&mut sub, 1, 6).await });
        states
            .wait_for(|s| matches!(s, nagare::ConnectionState::Connected { .. }))
            .await
            .expect("connected");
        let mut client = chat::client::Client::new(b.base())
            .echo()
            .await
            .expect("echo");
        echo(&mut client, 1..=1).await;
        redis.stop().await;
        // Echoed while Redis is down, then the client leaves, without waiting
        // for anything (a graceful close would wait for its publishes).
        echo(&mut client, 2..=6).await;
        drop(client);
        let body = ready_becomes(b.addr(), 503).await;
        assert!(body.contains("broker: Redis unreachable"), "{body}");
        redis.start_again().await;
        ready_becomes(b.addr(), 200).await;
        // Every accepted message reaches the subscriber on the other node,
        // once and in order.
        receiving.await.expect("events 1 to 6");
    })
    .await;
}

#[tokio::test]
async fn a_publish_past_its_deadline_is_reported_and_its_client_told() {
    bounded(async {
        let mut redis = RedisServer::start().await;
        let b = node(&redis, &["--publish-timeout", "500ms"]).await;
        let client = chat::client::Client::new(b.base());
        let mut gone = client.echo().await.expect("echo");
        let mut staying = client.echo().await.expect("echo");
        echo(&mut gone, 1..=1).await;
        redis.stop().await;
        let stopped = Instant::now();
        // Three messages from a client that leaves, one from one that stays.
        echo(&mut gone, 2..=4).await;
        drop(gone);
        echo(&mut staying, 5..=5).await;
        // Past the deadline: a line per failed batch, saying how many failed
        // (whether their method still waited for them, and was told, or not).
        let mut seen = 1;
        loop {
            let lines = b.log_lines("publishes failed", seen).await;
            let failed: usize = lines
                .iter()
                .filter_map(|l| l.split("failed=").nth(1))
                .filter_map(|v| v.split_whitespace().next()?.parse::<usize>().ok())
                .sum();
            if failed >= 4 {
                break;
            }
            seen = lines.len() + 1;
        }
        assert!(stopped.elapsed() >= Duration::from_millis(450));
        // The client still there is told at its next message: 1013.
        let next = chat::EchoStreamingPayload {
            message: "6".into(),
        };
        let _ = staying.send(&next).await;
        let told = loop {
            match staying.recv().await {
                Ok(Some(_)) => continue,
                other => break other,
            }
        };
        match told {
            Err(nagare::StreamError::Closed { code, reason }) => {
                assert_eq!(code, 1013, "{reason}");
                assert!(reason.contains("try again later"), "{reason}");
            }
            other => panic!("1013 expected, got {other:?}"),
        }
        let (_, metrics) = get(b.addr(), "/metrics").await;
        let counted = metrics
            .lines()
            .find(|l| l.starts_with("nagare_broker_publish_failures_total{reason=\"deadline\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok());
        assert!(counted.is_some_and(|n| n >= 4), "{metrics}");
        assert!(metrics.contains("nagare_broker_connected 0"), "{metrics}");
        redis.start_again().await;
    })
    .await;
}

#[tokio::test]
async fn sigterm_turns_not_ready_before_connections_close() {
    bounded(async {
        let server = ServerProcess::start(
            env!("CARGO_BIN_EXE_guide"),
            &["--addr", "127.0.0.1:0", "--drain-delay", "2s"],
        )
        .await;
        let addr = server.addr();
        assert_eq!(get(addr, "/healthz").await.0, 200);
        assert_eq!(get(addr, "/readyz").await.0, 200);
        let mut client = chat::client::Client::new(server.base())
            .echo()
            .await
            .expect("echo");
        echo(&mut client, 1..=1).await;
        server.terminate().await;
        let signalled = Instant::now();
        let body = ready_becomes(addr, 503).await;
        assert!(body.contains("draining"), "{body}");
        // Not ready, and still serving what it has.
        echo(&mut client, 2..=2).await;
        assert_eq!(get(addr, "/healthz").await.0, 200);
        // Then, after the delay, its connections close with 1001.
        match client.recv().await {
            Err(nagare::StreamError::Closed { code, .. }) => assert_eq!(code, 1001),
            other => panic!("1001 expected, got {other:?}"),
        }
        assert!(
            signalled.elapsed() >= Duration::from_millis(1500),
            "{:?}",
            signalled.elapsed()
        );
    })
    .await;
}
