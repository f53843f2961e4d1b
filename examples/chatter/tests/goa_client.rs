//! The wire exactly as a Goa-generated Go client speaks it (see the protocol spec):
//! the same requests, headers and frames over a raw TCP socket, checking every
//! byte the Go client depends on.

mod common;

use common::{bounded, login, start, token_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use nagare_testkit::wire::{close_payload, go_upgrade_request, read_frame, send_head};

/// A masked text (0x1) or close (0x8) frame.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    nagare_testkit::wire::frame(opcode, true, payload)
}

/// The upgrade request gorilla/websocket sends for a Goa client: no Origin, no
/// subprotocol, no extensions, the token with `Bearer `.
async fn upgrade(addr: std::net::SocketAddr, target: &str, token: &str) -> (TcpStream, String) {
    send_head(
        addr,
        &go_upgrade_request(addr, target, &format!("Authorization: Bearer {token}\r\n")),
    )
    .await
}

async fn body(tcp: &mut TcpStream, head: &str) -> String {
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .and_then(|v| v.trim().parse().ok())
        .expect("content-length");
    let mut buf = vec![0u8; len];
    tcp.read_exact(&mut buf).await.expect("body");
    String::from_utf8(buf).expect("utf-8")
}

#[tokio::test]
async fn login_answers_like_goa() {
    bounded(async {
        let server = start().await;
        // `goa:rocks`, as Go's req.SetBasicAuth encodes it; empty body.
        let ok = format!("POST /login HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic Z29hOnJvY2tz\r\nContent-Length: 0\r\n\r\n", server.addr);
        let (mut tcp, head) = send_head(server.addr, &ok).await;
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.to_ascii_lowercase().contains("content-type: application/json\r\n"), "{head}");
        let token = body(&mut tcp, &head).await;
        assert!(token.starts_with("\"ey") && token.ends_with("\"\n"), "a JSON string and a newline: {token:?}");

        // `goa:bad`.
        let bad = format!("POST /login HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic Z29hOmJhZA==\r\nContent-Length: 0\r\n\r\n", server.addr);
        let (mut tcp, head) = send_head(server.addr, &bad).await;
        assert!(head.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{head}");
        assert!(head.to_ascii_lowercase().contains("goa-error: unauthorized\r\n"), "{head}");
        assert_eq!(body(&mut tcp, &head).await, "\"invalid username and password combination\"\n");
    })
    .await;
}

#[tokio::test]
async fn refused_tokens_answer_like_goa() {
    bounded(async {
        let server = start().await;
        let (mut tcp, head) = upgrade(server.addr, "/echoer", "garbage").await;
        assert!(head.starts_with("HTTP/1.1 401 "), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("goa-error: unauthorized\r\n"),
            "{head}"
        );
        assert_eq!(body(&mut tcp, &head).await, "\"invalid token\"\n");

        let read_only = token_with(serde_json::json!({"scopes": ["stream:read"]}));
        let (mut tcp, head) = upgrade(server.addr, "/echoer", &read_only).await;
        assert!(head.starts_with("HTTP/1.1 403 "), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("goa-error: invalid-scopes\r\n"),
            "{head}"
        );
        assert_eq!(
            body(&mut tcp, &head).await,
            "\"missing scopes: stream:write\"\n"
        );
    })
    .await;
}

#[tokio::test]
async fn echoer_session_of_a_go_client() {
    bounded(async {
        let server = start().await;
        let token = login(&server.base).await;
        let (mut tcp, head) = upgrade(server.addr, "/echoer", &token).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        // Go's WriteJSON: a JSON string and a newline, in a text frame.
        tcp.write_all(&frame(0x1, b"\"hello\"\n"))
            .await
            .expect("send");
        assert_eq!(
            read_frame(&mut tcp).await,
            (true, 0x1, b"\"hello\"\n".to_vec())
        );
        // Close(): `null`, then the server ends with 1000; Go then drops TCP.
        tcp.write_all(&frame(0x1, b"null\n")).await.expect("null");
        assert_eq!(
            read_frame(&mut tcp).await,
            (true, 0x8, close_payload(1000, "server closing connection"))
        );
    })
    .await;
}

#[tokio::test]
async fn summary_session_of_a_go_client() {
    bounded(async {
        let server = start().await;
        let token = login(&server.base).await;
        let (mut tcp, head) = upgrade(server.addr, "/summary", &token).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        assert!(
            !head.to_ascii_lowercase().contains("goa-view"),
            "the view is pinned: {head}"
        );
        for m in [&b"\"a\"\n"[..], b"\"bc\"\n"] {
            tcp.write_all(&frame(0x1, m)).await.expect("send");
        }
        // CloseAndRecv(): `null`, then exactly one message, the collection.
        tcp.write_all(&frame(0x1, b"null\n")).await.expect("null");
        let (_, opcode, payload) = read_frame(&mut tcp).await;
        assert_eq!(opcode, 0x1);
        let text = String::from_utf8(payload).expect("utf-8");
        assert!(text.ends_with("]\n"), "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        let items = value.as_array().expect("an array");
        assert_eq!(items.len(), 2);
        assert_eq!(items[1]["message"], "bc");
        assert_eq!(items[1]["length"], 2);
        assert!(items[1]["sent_at"].is_string());
        assert_eq!(read_frame(&mut tcp).await.1, 0x8);
    })
    .await;
}

#[tokio::test]
async fn history_session_of_a_go_client_with_a_view() {
    bounded(async {
        let server = start().await;
        let token = login(&server.base).await;
        // Store one message through echoer.
        let (mut tcp, _) = upgrade(server.addr, "/echoer", &token).await;
        tcp.write_all(&frame(0x1, b"\"stored\"\n"))
            .await
            .expect("send");
        read_frame(&mut tcp).await;

        let (mut tcp, head) = upgrade(server.addr, "/history?view=tiny", &token).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("goa-view: tiny\r\n"),
            "{head}"
        );
        assert_eq!(
            read_frame(&mut tcp).await,
            (true, 0x1, b"{\"message\":\"stored\"}\n".to_vec())
        );
        assert_eq!(
            read_frame(&mut tcp).await,
            (true, 0x8, close_payload(1000, "server closing connection"))
        );
    })
    .await;
}

#[tokio::test]
async fn subscribe_client_leaving_with_1000_is_echoed() {
    bounded(async {
        let server = start().await;
        let token = login(&server.base).await;
        let (mut tcp, head) = upgrade(server.addr, "/subscribe", &token).await;
        // The 101 comes at once, not with the first event as in Goa.
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        assert!(
            !head.to_ascii_lowercase().contains("sec-websocket-protocol"),
            "no subprotocol for a Go client: {head}"
        );
        // Events reach it as plain Goa frames (no nagare.v1 envelope). The
        // subscription follows the room a moment after the 101: messages are
        // echoed until the first event arrives, each after a round trip.
        let (mut echo, _) = upgrade(server.addr, "/echoer", &token).await;
        let mut reading = tokio::spawn(async move {
            let event = read_frame(&mut tcp).await;
            (event, tcp)
        });
        let ((fin, opcode, payload), mut tcp) = loop {
            echo.write_all(&frame(0x1, b"\"hello\"\n"))
                .await
                .expect("send");
            read_frame(&mut echo).await;
            if reading.is_finished() {
                break (&mut reading).await.expect("reader");
            }
            tokio::task::yield_now().await;
        };
        assert!(fin && opcode == 0x1);
        let text = String::from_utf8(payload).expect("utf-8");
        assert!(
            text.starts_with("{\"message\":\"hello\",\"action\":\"added\",\"added_at\":\"")
                && text.ends_with("\"}\n"),
            "{text}"
        );
        tcp.write_all(&frame(
            0x8,
            &close_payload(1000, "client closing connection"),
        ))
        .await
        .expect("close");
        // Events echoed meanwhile may come first; then the close, echoed.
        loop {
            match read_frame(&mut tcp).await.1 {
                0x1 => continue,
                opcode => {
                    assert_eq!(opcode, 0x8);
                    break;
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_token_without_bearer_is_accepted_too() {
    bounded(async {
        let server = start().await;
        let token = login(&server.base).await;
        let (_, head) = send_head(
            server.addr,
            &format!(
                "GET /history HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\nAuthorization: {token}\r\n\r\n",
                server.addr
            ),
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    })
    .await;
}

#[tokio::test]
async fn a_browser_sends_its_token_as_a_subprotocol() {
    bounded(async {
        let server = start().await;
        let token = login(&server.base).await;
        let (_, head) = send_head(
            server.addr,
            &format!(
                "GET /history HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: nagare, nagare.bearer.{token}\r\n\r\n",
                addr = server.addr
            ),
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        let lower = head.to_ascii_lowercase();
        assert!(lower.contains("sec-websocket-protocol: nagare\r\n"), "the real protocol is selected: {head}");
        assert!(!head.contains(&token), "the token is never echoed");
    })
    .await;
}
