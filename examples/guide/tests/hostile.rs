//! The catalogue of hostile input (`docs/hostile-input.md`), row by row: at the
//! TCP, HTTP, handshake, WebSocket frame, JSON message and resume levels, each
//! attack gets its exact answer (a deadline, a status with Goa's error body, a
//! close code and reason), and a bystander connection, opened before the
//! attack from another loopback address, keeps echoing through every one.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{bounded, start_with};
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

/// A well-behaved client, connected before the attack from 127.0.0.9: after
/// it, its connection still echoes, and a new connection is served too.
struct Bystander {
    addr: SocketAddr,
    ws: tokio_tungstenite::WebSocketStream<TcpStream>,
}

impl Bystander {
    async fn connect(addr: SocketAddr) -> Bystander {
        let tcp = connect_from([127, 0, 0, 9], addr).await;
        let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/echo"), tcp)
            .await
            .expect("the bystander connects");
        Bystander { addr, ws }
    }

    /// One echo on the old connection and one on a new one.
    async fn still_served(&mut self) {
        echo_once(&mut self.ws).await;
        let mut fresh = Bystander::connect(self.addr).await;
        echo_once(&mut fresh.ws).await;
    }
}

async fn echo_once(ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::text("{\"message\":\"still here\"}"))
        .await
        .expect("the bystander sends");
    match ws.next().await {
        Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), "{\"message\":\"still here\"}\n"),
        other => panic!("the bystander got {other:?}"),
    }
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
        let mut bystander = Bystander::connect(server.addr).await;
        let mut silent = TcpStream::connect(server.addr).await.expect("connect");
        let mut slow = TcpStream::connect(server.addr).await.expect("connect");
        slow.write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("half a head");
        let waited = closed_after(&mut silent).await;
        assert!(waited >= Duration::from_millis(200), "{waited:?}");
        closed_after(&mut slow).await;
        bystander.still_served().await;
    })
    .await;
}

/// A row of the HTTP level: a request, and the answer's status line and a
/// piece of its body.
struct HttpRow {
    name: &'static str,
    request: fn(SocketAddr) -> String,
    status: &'static str,
    body: &'static str,
}

fn upgrade_with(addr: SocketAddr, target: &str, extra: &str) -> String {
    go_upgrade_request(addr, target, extra)
}

const HTTP_ROWS: &[HttpRow] = &[
    HttpRow {
        name: "HTTP/1.0 upgrade",
        request: |a| upgrade_with(a, "/echo", "").replace("HTTP/1.1", "HTTP/1.0"),
        status: " 400 ",
        body: "need HTTP/1.1",
    },
    HttpRow {
        name: "head over 16 KiB",
        request: |a| upgrade_with(a, "/echo", &format!("X-Big: {}\r\n", "a".repeat(20_000))),
        status: "HTTP/1.1 431 ",
        body: "\"name\":\"headers_too_large\"",
    },
    HttpRow {
        name: "header line of 200 KB",
        request: |a| upgrade_with(a, "/echo", &format!("X-Big: {}\r\n", "a".repeat(200_000))),
        status: "HTTP/1.1 431 ",
        body: "",
    },
    HttpRow {
        name: "request target over 8 KiB",
        request: |a| upgrade_with(a, &format!("/echo?x={}", "a".repeat(10_000)), ""),
        status: "HTTP/1.1 414 ",
        body: "\"name\":\"uri_too_long\"",
    },
    HttpRow {
        name: "WebSocket version 8",
        request: |a| upgrade_with(a, "/echo", "").replace("Version: 13", "Version: 8"),
        status: "HTTP/1.1 426 ",
        body: "Sec-WebSocket-Version\\\" must be 13",
    },
    HttpRow {
        name: "POST upgrade",
        request: |a| upgrade_with(a, "/echo", "").replacen("GET", "POST", 1),
        status: "HTTP/1.1 405 ",
        body: "",
    },
    HttpRow {
        name: "plain GET of a WebSocket endpoint",
        request: |a| format!("GET /echo HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n\r\n"),
        status: "HTTP/1.1 426 ",
        body: "only accepts WebSocket upgrade requests",
    },
    HttpRow {
        name: "Connection without upgrade",
        request: |a| {
            upgrade_with(a, "/echo", "").replace("Connection: Upgrade", "Connection: keep-alive")
        },
        status: "HTTP/1.1 400 ",
        body: "must contain \\\"upgrade\\\"",
    },
    HttpRow {
        name: "missing Sec-WebSocket-Key",
        request: |a| {
            upgrade_with(a, "/echo", "")
                .replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "")
        },
        status: "HTTP/1.1 400 ",
        body: "16 bytes in base64",
    },
    HttpRow {
        name: "malformed Sec-WebSocket-Key",
        request: |a| upgrade_with(a, "/echo", "").replace("dGhlIHNhbXBsZSBub25jZQ==", "not-a-key"),
        status: "HTTP/1.1 400 ",
        body: "16 bytes in base64",
    },
    HttpRow {
        name: "foreign origin",
        request: |a| upgrade_with(a, "/echo", "Origin: https://evil.example\r\n"),
        status: "HTTP/1.1 403 ",
        body: "origin",
    },
    HttpRow {
        name: "payload out of range (interval_ms=5)",
        request: |a| upgrade_with(a, "/analytics?interval_ms=5", ""),
        status: "HTTP/1.1 400 ",
        body: "interval_ms",
    },
    HttpRow {
        name: "payload of the wrong type (rounds=many)",
        request: |a| upgrade_with(a, "/analytics?rounds=many", ""),
        status: "HTTP/1.1 400 ",
        body: "rounds",
    },
    HttpRow {
        name: "unknown view",
        request: |a| upgrade_with(a, "/analytics?view=bogus", ""),
        status: "HTTP/1.1 400 ",
        body: "invalid_enum_value",
    },
    HttpRow {
        name: "not HTTP at all",
        request: |_| "HELLO THERE\r\n\r\n".to_owned(),
        status: "HTTP/1.1 400 ",
        body: "",
    },
    HttpRow {
        name: "unknown path",
        request: |a| upgrade_with(a, "/nowhere", ""),
        status: "HTTP/1.1 404 ",
        body: "",
    },
];

#[tokio::test]
async fn every_bad_request_gets_its_4xx_and_the_server_keeps_serving() {
    bounded(async {
        let server = start_with(options(Limits::default())).await;
        let addr = server.addr;
        let mut bystander = Bystander::connect(addr).await;
        for row in HTTP_ROWS {
            let request = (row.request)(addr) + "";
            let mut tcp = TcpStream::connect(addr).await.expect("connect");
            tcp.write_all(request.as_bytes()).await.expect("request");
            let res = response(&mut tcp).await;
            assert!(res.contains(row.status), "{}: {res}", row.name);
            assert!(!res.contains(" 500 "), "{}: {res}", row.name);
            assert!(res.contains(row.body), "{}: {res}", row.name);
            bystander.still_served().await;
        }
    })
    .await;
}

/// A response's head and body (by its `Content-Length`), or what came before
/// the server closed.
async fn response(tcp: &mut TcpStream) -> String {
    nagare_testkit::wire::read_response(tcp).await
}

/// A connection from `source` (a loopback address) to `addr`.
async fn connect_from(source: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((source, 0)))
        .expect("bind a loopback source");
    socket.connect(addr).await.expect("connect")
}

/// Upgrades `/echo` from `source` with `extra` header lines; the status line
/// of the answer, and the socket (kept open: a 101 holds its slot).
async fn upgrade_from(source: [u8; 4], addr: SocketAddr, extra: &str) -> (String, TcpStream) {
    let mut tcp = connect_from(source, addr).await;
    tcp.write_all(go_upgrade_request(addr, "/echo", extra).as_bytes())
        .await
        .expect("request");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n") {
        head.push(tcp.read_u8().await.expect("status line"));
    }
    (String::from_utf8_lossy(&head).trim_end().to_owned(), tcp)
}

/// The status line of an `/echo` upgrade with these `Host` and `Origin`.
async fn upgrade_status(addr: SocketAddr, host: &str, origin: &str) -> String {
    let request = format!(
        "GET /echo HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    let (_, head) = send_head(addr, &request).await;
    head.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_same_origin_check_compares_origins_never_the_host() {
    bounded(async {
        let server = start_with(options(Limits::default())).await;
        let addr = server.addr;
        let port = addr.port();
        let mut bystander = Bystander::connect(addr).await;
        let ok = "HTTP/1.1 101 Switching Protocols";
        // The server's own pages, on loopback (no public origin set).
        for origin in [
            format!("http://127.0.0.1:{port}"),
            format!("http://localhost:{port}"),
        ] {
            assert_eq!(
                upgrade_status(addr, &format!("127.0.0.1:{port}"), &origin).await,
                ok,
                "{origin}"
            );
        }
        // DNS rebinding: a page of evil.example whose name now points here.
        let evil = format!("evil.example:{port}");
        let status = upgrade_status(addr, &evil, &format!("http://{evil}")).await;
        assert!(status.starts_with("HTTP/1.1 403"), "{status}");
        // The right host and port with another scheme is another origin.
        for scheme in ["https", "javascript"] {
            let origin = format!("{scheme}://127.0.0.1:{port}");
            let status = upgrade_status(addr, &format!("127.0.0.1:{port}"), &origin).await;
            assert!(status.starts_with("HTTP/1.1 403"), "{origin}: {status}");
        }
        // A server with a public origin lets its pages in, whatever Host the
        // proxy in front of it passes on, and no others.
        let public = start_with(options(Limits {
            public_origins: vec!["https://chat.example.com".parse().expect("an origin")],
            ..Limits::default()
        }))
        .await;
        let local = format!("127.0.0.1:{}", public.addr.port());
        assert_eq!(
            upgrade_status(public.addr, &local, "https://chat.example.com").await,
            ok
        );
        let status = upgrade_status(public.addr, &local, &format!("http://{local}")).await;
        assert!(status.starts_with("HTTP/1.1 403"), "{status}");
        bystander.still_served().await;
    })
    .await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_slots() {
    bounded(async {
        let proxy = [127, 0, 0, 5];
        let server = start_with(options(Limits {
            max_connections_per_ip: Some(2),
            trusted_proxies: vec!["127.0.0.5".parse().expect("a range")],
            ..Limits::default()
        }))
        .await;
        let addr = server.addr;
        let mut bystander = Bystander::connect(addr).await;
        let client = |ip: &str| format!("X-Forwarded-For: {ip}\r\n");
        // One client behind the proxy takes its two slots; a third is refused.
        let (first, _a1) = upgrade_from(proxy, addr, &client("203.0.113.9")).await;
        let (second, _a2) = upgrade_from(proxy, addr, &client("203.0.113.9")).await;
        assert_eq!(
            (first.as_str(), second.as_str()),
            (
                "HTTP/1.1 101 Switching Protocols",
                "HTTP/1.1 101 Switching Protocols"
            )
        );
        let (third, _) = upgrade_from(proxy, addr, &client("203.0.113.9")).await;
        assert!(third.starts_with("HTTP/1.1 503"), "{third}");
        // Others behind the same proxy are served: the proxy is not one client.
        for other in ["203.0.113.10", "203.0.113.11", "203.0.113.12"] {
            let (status, _) = upgrade_from(proxy, addr, &client(other)).await;
            assert!(status.starts_with("HTTP/1.1 101"), "{other}: {status}");
        }
        // RFC 7239's header names the client too.
        let (status, _f) =
            upgrade_from(proxy, addr, "Forwarded: for=\"203.0.113.9:4711\"\r\n").await;
        assert!(status.starts_with("HTTP/1.1 503"), "{status}");
        // A peer that is not a trusted proxy cannot name itself someone else:
        // it is counted as itself.
        let spoof = client("203.0.113.20");
        let (s1, _s1) = upgrade_from([127, 0, 0, 6], addr, &spoof).await;
        let (s2, _s2) = upgrade_from([127, 0, 0, 6], addr, &client("203.0.113.21")).await;
        let (s3, _) = upgrade_from([127, 0, 0, 6], addr, &client("203.0.113.22")).await;
        assert!(s1.starts_with("HTTP/1.1 101") && s2.starts_with("HTTP/1.1 101"));
        assert!(s3.starts_with("HTTP/1.1 503"), "{s3}");
        bystander.still_served().await;
    })
    .await;
}

#[tokio::test]
async fn connections_beyond_the_limits_are_answered_503_with_retry_after() {
    bounded(async {
        let server = start_with(options(Limits {
            max_connections: 4,
            max_connections_per_ip: Some(2),
            ..Limits::default()
        }))
        .await;
        let addr = server.addr;
        // The bystander holds one of the four slots.
        let mut bystander = Bystander::connect(addr).await;
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
        // Connections already in keep being served.
        echo_once(&mut bystander.ws).await;
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
        let mut bystander = Bystander::connect(addr).await;
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
        // The bystander's address has its own bucket: one upgrade more.
        echo_once(&mut bystander.ws).await;
        let mut fresh = Bystander::connect(addr).await;
        echo_once(&mut fresh.ws).await;
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
        let mut bystander = Bystander::connect(addr).await;
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
        bystander.still_served().await;
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

/// A row of the WebSocket and message levels: what is sent on `/echo` after
/// the upgrade, and the close that answers it.
struct FrameRow {
    name: &'static str,
    send: fn() -> Vec<u8>,
    code: u16,
    reason: &'static str,
}

fn text(payload: &str) -> Vec<u8> {
    nagare_testkit::wire::frame(nagare_testkit::wire::TEXT, true, payload.as_bytes())
}

const FRAME_ROWS: &[FrameRow] = &[
    FrameRow {
        name: "unmasked client frame",
        send: || vec![0x81, 0x02, b'h', b'i'],
        code: 1002,
        reason: "protocol violation: Received an unmasked frame from client",
    },
    FrameRow {
        name: "reserved bit without an extension",
        send: || nagare_testkit::wire::raw_frame(0xC1, b"{}"),
        code: 1002,
        reason: "protocol violation: Reserved bits are non-zero",
    },
    FrameRow {
        name: "unknown opcode",
        send: || nagare_testkit::wire::raw_frame(0x83, b"{}"),
        code: 1002,
        reason: "protocol violation: Encountered invalid opcode: 3",
    },
    FrameRow {
        name: "control frame over 125 bytes",
        send: || nagare_testkit::wire::raw_frame(0x89, &[0u8; 126]),
        code: 1002,
        reason: "protocol violation: Control frame too big",
    },
    FrameRow {
        name: "fragmented control frame",
        send: || nagare_testkit::wire::raw_frame(0x09, b"ping"),
        code: 1002,
        reason: "protocol violation: Fragmented control frame",
    },
    FrameRow {
        name: "continuation without a first fragment",
        send: || nagare_testkit::wire::raw_frame(0x80, b"{}"),
        code: 1002,
        reason: "protocol violation: Continue frame but nothing to continue",
    },
    FrameRow {
        name: "close code that may not be sent (999)",
        send: || nagare_testkit::wire::raw_frame(0x88, &999u16.to_be_bytes()),
        code: 1002,
        reason: "Protocol violation",
    },
    FrameRow {
        name: "invalid UTF-8 in a text frame",
        send: || nagare_testkit::wire::raw_frame(0x81, &[0xff, 0xfe, 0xfd]),
        code: 1007,
        reason: "invalid UTF-8 in a text frame",
    },
    FrameRow {
        name: "message over 1 MiB",
        send: || text(&format!("{{\"message\":\"{}\"}}", "a".repeat(1 << 20))),
        code: 1009,
        reason: "message of 1048590 bytes exceeds the limit of 1048576 bytes",
    },
    FrameRow {
        name: "fragment flood past 1 MiB",
        send: || {
            use nagare_testkit::wire::{frame, CONTINUATION, TEXT};
            let mut out = frame(TEXT, false, b"{\"message\":\"");
            for _ in 0..2048 {
                out.extend(frame(CONTINUATION, false, &[b'a'; 1024]));
            }
            out
        },
        code: 1009,
        reason: "message of 1048588 bytes exceeds the limit of 1048576 bytes",
    },
    FrameRow {
        name: "malformed JSON",
        send: || text("{not json"),
        code: 1007,
        reason: "invalid message: key must be a string",
    },
    FrameRow {
        name: "wrong type",
        send: || text("{\"message\":5}"),
        code: 1007,
        reason: "invalid message: invalid type: integer `5`, expected a string",
    },
    FrameRow {
        name: "missing required attribute",
        send: || text("{\"other\":1}"),
        code: 1007,
        reason: "invalid message: missing field `message`",
    },
    FrameRow {
        name: "failed validation (empty message)",
        send: || text("{\"message\":\"\"}"),
        code: 1007,
        reason: "invalid message: length of message must be greater or equal than 1",
    },
    FrameRow {
        name: "deep nesting",
        send: || {
            text(&format!(
                "{{\"message\":{}{}}}",
                "[".repeat(10_000),
                "]".repeat(10_000)
            ))
        },
        code: 1007,
        reason: "invalid message: invalid type: sequence, expected a string",
    },
    FrameRow {
        name: "huge number",
        send: || text("{\"message\":1e999}"),
        code: 1007,
        reason: "invalid message: number out of range",
    },
    FrameRow {
        name: "binary frame that is not JSON",
        send: || nagare_testkit::wire::frame(nagare_testkit::wire::BINARY, true, &[0, 1, 2, 3]),
        code: 1007,
        reason: "invalid message: expected value at line 1 column 1",
    },
];

#[tokio::test]
async fn every_bad_frame_or_message_gets_its_close_and_the_server_keeps_serving() {
    use nagare_testkit::wire::{read_frame, CLOSE};
    bounded(async {
        let server = start_with(options(Limits::default())).await;
        let addr = server.addr;
        let mut bystander = Bystander::connect(addr).await;
        for row in FRAME_ROWS {
            let (mut tcp, head) = send_head(addr, &go_upgrade_request(addr, "/echo", "")).await;
            assert!(head.starts_with("HTTP/1.1 101 "), "{}: {head}", row.name);
            // The peer may stop reading before all is written.
            let _ = tcp.write_all(&(row.send)()).await;
            let close = loop {
                let (_, opcode, payload) = read_frame(&mut tcp).await;
                if opcode == CLOSE {
                    break payload;
                }
            };
            let code = u16::from_be_bytes([close[0], close[1]]);
            let reason = String::from_utf8_lossy(&close[2..]).into_owned();
            assert_eq!(code, row.code, "{}: {reason}", row.name);
            assert!(reason.starts_with(row.reason), "{}: {reason}", row.name);
            bystander.still_served().await;
        }
    })
    .await;
}

/// Subscribes offering `nagare.v1` and `offers`; the 101's head.
async fn subscribe_v1(addr: SocketAddr, offers: &str) -> (TcpStream, String) {
    let protocols = format!("Sec-WebSocket-Protocol: nagare.v1{offers}\r\n");
    send_head(addr, &go_upgrade_request(addr, "/subscribe", &protocols)).await
}

async fn next_text(tcp: &mut TcpStream) -> String {
    let (_, opcode, payload) = nagare_testkit::wire::read_frame(tcp).await;
    String::from_utf8(payload).unwrap_or_else(|_| panic!("opcode {opcode}: not text"))
}

#[tokio::test]
async fn resume_points_from_the_future_another_epoch_or_nowhere_are_answered_exactly() {
    bounded(async {
        let server = start_with(options(Limits::default())).await;
        let addr = server.addr;
        let mut bystander = Bystander::connect(addr).await;
        let (mut first, _) = subscribe_v1(addr, "").await;
        let position = next_text(&mut first).await;
        let epoch = position
            .split('"')
            .nth(3)
            .expect("{\"epoch\":\"...\",\"seq\":0}")
            .to_owned();
        assert_eq!(position, format!("{{\"epoch\":\"{epoch}\",\"seq\":0}}\n"));
        let mut listener = common::publisher(&server.base).await;
        for i in 1..=3 {
            common::publish(&mut listener, i).await;
        }
        for _ in 1..=3 {
            next_text(&mut first).await;
        }

        // From the future: 4010 and why.
        let (mut tcp, _) = subscribe_v1(addr, &format!(", nagare.resume.{epoch}.99")).await;
        let (_, opcode, close) = nagare_testkit::wire::read_frame(&mut tcp).await;
        assert_eq!(opcode, nagare_testkit::wire::CLOSE);
        assert_eq!(
            close,
            nagare_testkit::wire::close_payload(
                4010,
                "too far behind: resume point 99 is past the last message, 3"
            )
        );
        bystander.still_served().await;

        // From another epoch: the stream restarted, from the oldest kept.
        let (mut tcp, _) = subscribe_v1(addr, ", nagare.resume.deadbeef.7").await;
        assert_eq!(
            next_text(&mut tcp).await,
            format!("{{\"epoch\":\"{epoch}\",\"seq\":0}}\n")
        );
        assert!(next_text(&mut tcp)
            .await
            .starts_with("{\"seq\":1,\"data\":"));
        bystander.still_served().await;

        // A malformed offer is no offer: the stream starts live, after the
        // last event (the bystander's echoes are events too).
        let (mut tcp, _) = subscribe_v1(addr, ", nagare.resume.not-a-point").await;
        let live = next_text(&mut tcp).await;
        assert!(
            live.starts_with(&format!("{{\"epoch\":\"{epoch}\",\"seq\":"))
                && !live.contains("\"seq\":0}"),
            "{live}"
        );

        // The same point twice: each connection gets the same replay.
        for _ in 0..2 {
            let (mut tcp, _) = subscribe_v1(addr, &format!(", nagare.resume.{epoch}.1")).await;
            assert_eq!(
                next_text(&mut tcp).await,
                format!("{{\"epoch\":\"{epoch}\",\"seq\":1}}\n")
            );
            assert!(next_text(&mut tcp)
                .await
                .starts_with("{\"seq\":2,\"data\":"));
            assert!(next_text(&mut tcp)
                .await
                .starts_with("{\"seq\":3,\"data\":"));
        }
        bystander.still_served().await;
    })
    .await;
}

#[tokio::test]
async fn a_ping_flood_is_answered_pong_for_ping_without_starving_anyone() {
    use nagare_testkit::wire::{frame, read_frame};
    bounded(async {
        let server = start_with(options(Limits::default())).await;
        let addr = server.addr;
        let mut bystander = Bystander::connect(addr).await;
        let (mut tcp, _) = send_head(addr, &go_upgrade_request(addr, "/echo", "")).await;
        let mut flood = Vec::new();
        for i in 0..1000u32 {
            flood.extend(frame(0x9, true, &i.to_be_bytes()));
        }
        tcp.write_all(&flood).await.expect("flood");
        for i in 0..1000u32 {
            let (_, opcode, payload) = read_frame(&mut tcp).await;
            assert_eq!((opcode, payload), (0xA, i.to_be_bytes().to_vec()));
        }
        bystander.still_served().await;
    })
    .await;
}
