//! What a server accepts before an upgrade, tried as an attacker would: sockets
//! that send nothing or half a head, huge heads and targets, HTTP/1.0
//! upgrades, more connections than the server takes, upgrades too fast. Each
//! gets a deadline or an answer with Goa's error body, and a bystander keeps
//! echoing through all of it.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{bounded, start_with, Server};
use guide::chat;
use nagare::server::Limits;
use nagare::Rate;
use nagare_testkit::wire::{go_upgrade_request, send_head};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn options(limits: Limits) -> nagare::ServerOptions {
    let mut options = nagare::ServerOptions::new();
    options.limits = limits;
    options
}

/// A well-behaved client that must keep being served: one echo round trip.
async fn bystander_echoes(server: &Server) {
    let mut echo = chat::client::Client::new(&server.base)
        .echo()
        .await
        .expect("the bystander connects");
    echo.send(&chat::EchoStreamingPayload {
        message: "still here".into(),
    })
    .await
    .expect("send");
    let got = echo.recv().await.expect("recv").expect("an echo");
    assert_eq!(got.message, "still here");
}

/// Reads until the server closes the socket; the time it took.
async fn closed_after(tcp: &mut TcpStream) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return start.elapsed(),
            Ok(_) => {}
        }
    }
}

/// The whole response (head and body) to `request`, read until the server
/// closes the connection.
async fn answer(addr: SocketAddr, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(request).await.expect("request");
    let mut out = Vec::new();
    let _ = tcp.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_socket_that_sends_nothing_or_half_a_head_is_closed_at_the_deadline() {
    bounded(async {
        let server = start_with(options(Limits {
            header_read_timeout: Duration::from_millis(300),
            ..Limits::default()
        }))
        .await;
        let mut silent = TcpStream::connect(server.addr).await.expect("connect");
        let mut slow = TcpStream::connect(server.addr).await.expect("connect");
        slow.write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("half a head");
        bystander_echoes(&server).await;
        let waited = closed_after(&mut silent).await;
        assert!(waited >= Duration::from_millis(200), "{waited:?}");
        closed_after(&mut slow).await;
        bystander_echoes(&server).await;
    })
    .await;
}

#[tokio::test]
async fn bad_upgrade_requests_get_a_4xx_with_goas_body() {
    bounded(async {
        let server = start_with(options(Limits::default())).await;
        let addr = server.addr;

        // HTTP/1.0 has no upgrade.
        let http10 = go_upgrade_request(addr, "/echo", "").replace("HTTP/1.1", "HTTP/1.0");
        let res = answer(addr, http10.as_bytes()).await;
        assert!(
            res.starts_with("HTTP/1.0 400 ") || res.starts_with("HTTP/1.1 400 "),
            "{res}"
        );
        assert!(res.contains("\"name\":\"bad_request\""), "{res}");
        assert!(res.contains("need HTTP/1.1"), "{res}");

        // A head of 20 KB: over the 16 KiB limit, answered with Goa's body.
        let big = go_upgrade_request(addr, "/echo", &format!("X-Big: {}\r\n", "a".repeat(20_000)));
        let res = answer(addr, big.as_bytes()).await;
        assert!(res.starts_with("HTTP/1.1 431 "), "{res}");
        assert!(res.contains("\"name\":\"headers_too_large\""), "{res}");

        // A header line of 200 KB: refused before it is buffered whole.
        let huge = go_upgrade_request(
            addr,
            "/echo",
            &format!("X-Big: {}\r\n", "a".repeat(200_000)),
        );
        let res = answer(addr, huge.as_bytes()).await;
        assert!(res.starts_with("HTTP/1.1 431 "), "{res}");

        // A request target of 10 KB.
        let long = go_upgrade_request(addr, &format!("/echo?x={}", "a".repeat(10_000)), "");
        let res = answer(addr, long.as_bytes()).await;
        assert!(res.starts_with("HTTP/1.1 414 "), "{res}");
        assert!(res.contains("\"name\":\"uri_too_long\""), "{res}");

        // Unsupported WebSocket version: 426 naming the one spoken.
        let v8 = go_upgrade_request(addr, "/echo", "").replace("Version: 13", "Version: 8");
        let (_, head) = send_head(addr, &v8).await;
        assert!(head.starts_with("HTTP/1.1 426 "), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("sec-websocket-version: 13\r\n"),
            "{head}"
        );

        // A POST upgrade.
        let post = go_upgrade_request(addr, "/echo", "").replacen("GET", "POST", 1);
        let (_, head) = send_head(addr, &post).await;
        assert!(head.starts_with("HTTP/1.1 405 "), "{head}");
        bystander_echoes(&server).await;
    })
    .await;
}

/// A connection from `source` (a loopback address) to `addr`.
async fn connect_from(source: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((source, 0)))
        .expect("bind a loopback source");
    socket.connect(addr).await.expect("connect")
}

#[tokio::test]
async fn connections_beyond_the_limits_are_answered_503_with_retry_after() {
    bounded(async {
        let server = start_with(options(Limits {
            max_connections: 3,
            max_connections_per_ip: Some(2),
            ..Limits::default()
        }))
        .await;
        let addr = server.addr;
        let a = connect_from([127, 0, 0, 1], addr).await;
        let b = connect_from([127, 0, 0, 1], addr).await;
        // A third from 127.0.0.1 is over the per-address limit.
        let mut c = connect_from([127, 0, 0, 1], addr).await;
        c.write_all(go_upgrade_request(addr, "/echo", "").as_bytes())
            .await
            .expect("request");
        let mut res = String::new();
        let _ = c.read_to_string(&mut res).await;
        assert!(res.starts_with("HTTP/1.1 503 "), "{res}");
        assert!(
            res.to_ascii_lowercase().contains("retry-after: 1\r\n"),
            "{res}"
        );
        assert!(res.contains("\"temporary\":true"), "{res}");
        // Another address may connect, up to the server's limit.
        let d = connect_from([127, 0, 0, 2], addr).await;
        let mut e = connect_from([127, 0, 0, 2], addr).await;
        // Three counted (a, b and d): e is over the server's limit.
        e.write_all(go_upgrade_request(addr, "/echo", "").as_bytes())
            .await
            .expect("request");
        let mut res = String::new();
        let _ = e.read_to_string(&mut res).await;
        assert!(res.starts_with("HTTP/1.1 503 "), "{res}");
        // Slots come back when connections close.
        drop((a, b, d));
        let mut tries = 0;
        loop {
            let mut f = connect_from([127, 0, 0, 1], addr).await;
            f.write_all(go_upgrade_request(addr, "/echo", "").as_bytes())
                .await
                .expect("request");
            let mut head = [0u8; 12];
            f.read_exact(&mut head).await.expect("answer");
            if &head == b"HTTP/1.1 101" {
                break;
            }
            // The server has not yet seen the closes: ask again.
            tries += 1;
            assert!(tries < 1000, "slots never came back");
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[tokio::test]
async fn upgrades_too_fast_from_one_address_get_429() {
    bounded(async {
        let server = start_with(options(Limits {
            upgrade_rate_per_ip: Some(Rate {
                per_second: 0.5,
                burst: 2,
            }),
            ..Limits::default()
        }))
        .await;
        let addr = server.addr;
        for _ in 0..2 {
            let (_, head) = send_head(addr, &go_upgrade_request(addr, "/echo", "")).await;
            assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        }
        let res = answer(addr, go_upgrade_request(addr, "/echo", "").as_bytes()).await;
        assert!(res.starts_with("HTTP/1.1 429 "), "{res}");
        assert!(
            res.to_ascii_lowercase().contains("retry-after: 2\r\n"),
            "{res}"
        );
        // Another address is not slowed down.
        let mut other = connect_from([127, 0, 0, 3], addr).await;
        other
            .write_all(go_upgrade_request(addr, "/echo", "").as_bytes())
            .await
            .expect("request");
        let mut head = [0u8; 12];
        other.read_exact(&mut head).await.expect("answer");
        assert_eq!(&head, b"HTTP/1.1 101");
    })
    .await;
}

#[tokio::test]
async fn a_peer_that_floods_is_closed_with_1008_after_its_burst() {
    use nagare_testkit::wire::{close_payload, frame, read_frame, CLOSE, TEXT};
    bounded(async {
        let mut options = nagare::ServerOptions::new();
        options.conn.message_rate = Some(Rate {
            per_second: 1.0,
            burst: 5,
        });
        let server = start_with(options).await;
        let addr = server.addr;
        let (mut tcp, head) = send_head(addr, &go_upgrade_request(addr, "/echo", "")).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        let mut flood = Vec::new();
        for i in 0..20 {
            flood.extend(frame(
                TEXT,
                true,
                format!("{{\"message\":\"m{i}\"}}\n").as_bytes(),
            ));
        }
        tcp.write_all(&flood).await.expect("flood");
        // The burst is answered, then the close says why.
        let mut echoed = 0;
        let close = loop {
            let (_, opcode, payload) = read_frame(&mut tcp).await;
            match opcode {
                TEXT => echoed += 1,
                CLOSE => break payload,
                other => panic!("unexpected opcode {other}"),
            }
        };
        assert!(echoed <= 6, "{echoed} echoes for a burst of 5");
        assert_eq!(
            close,
            close_payload(1008, "message rate limit exceeded (1/s, bursts of 5)")
        );
        bystander_echoes(&server).await;
    })
    .await;
}

#[tokio::test]
async fn an_endpoint_full_answers_503_while_the_others_serve() {
    bounded(async {
        let mut options = nagare::ServerOptions::new();
        let echo = nagare::ConnConfig {
            max_connections: Some(1),
            ..nagare::ConnConfig::default()
        };
        options.set_endpoint(chat::endpoints::ECHO, echo);
        let server = start_with(options).await;
        let addr = server.addr;
        let (first, head) = send_head(addr, &go_upgrade_request(addr, "/echo", "")).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        let (_, head) = send_head(addr, &go_upgrade_request(addr, "/echo", "")).await;
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("retry-after: 1\r\n"),
            "{head}"
        );
        let (_, head) = send_head(addr, &go_upgrade_request(addr, "/subscribe", "")).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        // The slot is free once the first connection is over.
        drop(first);
        let mut tries = 0;
        loop {
            let (_, head) = send_head(addr, &go_upgrade_request(addr, "/echo", "")).await;
            if head.starts_with("HTTP/1.1 101 ") {
                break;
            }
            tries += 1;
            assert!(tries < 1000, "the slot never came back: {head}");
            tokio::task::yield_now().await;
        }
    })
    .await;
}
