//! Goa's WebSocket protocol byte for byte, spoken over a raw TCP socket: the
//! upgrade request a Go client sends, the frames it writes, and the exact bytes
//! the server must answer with (see `docs/protocol.md`).

mod common;

use common::{bounded, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use nagare_testkit::wire::{
    close_payload, frame, go_upgrade_request, read_frame, send_head, BINARY, CLOSE, CONTINUATION,
    TEXT,
};

/// Sends the upgrade request a Go client sends and returns the socket after
/// the response head.
async fn upgrade(addr: std::net::SocketAddr, target: &str) -> (TcpStream, String) {
    send_head(addr, &go_upgrade_request(addr, target, "")).await
}

#[tokio::test]
async fn echo_byte_for_byte() {
    bounded(async {
        let server = start().await;
        let (mut tcp, head) = upgrade(server.addr, "/echo").await;
        let head_lower = head.to_ascii_lowercase();
        assert!(
            head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{head}"
        );
        // The accept key for the RFC's sample nonce.
        assert!(
            head_lower.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
            "{head}"
        );
        assert!(
            !head_lower.contains("sec-websocket-extensions"),
            "no extension the client did not ask for"
        );
        assert!(
            !head_lower.contains("goa-view"),
            "echo's result has no views"
        );

        // A Go client's message: compact JSON and a newline, in a text frame.
        tcp.write_all(&frame(TEXT, true, b"{\"message\":\"hi\"}\n"))
            .await
            .expect("send");
        assert_eq!(
            read_frame(&mut tcp).await,
            (true, TEXT, b"{\"message\":\"hi\"}\n".to_vec())
        );

        // Binary frames, fragments and surrounding whitespace are accepted; the
        // answer is always one text frame of compact JSON.
        tcp.write_all(&frame(BINARY, true, b" {\"message\" : \"bin\"} "))
            .await
            .expect("send");
        assert_eq!(
            read_frame(&mut tcp).await,
            (true, TEXT, b"{\"message\":\"bin\"}\n".to_vec())
        );
        tcp.write_all(&frame(TEXT, false, b"{\"mess"))
            .await
            .expect("send");
        tcp.write_all(&frame(CONTINUATION, true, b"age\":\"frag\"}"))
            .await
            .expect("send");
        assert_eq!(
            read_frame(&mut tcp).await,
            (true, TEXT, b"{\"message\":\"frag\"}\n".to_vec())
        );

        // The client ends its stream with `null`; the server ends with close 1000.
        tcp.write_all(&frame(TEXT, true, b"null\n"))
            .await
            .expect("send null");
        assert_eq!(
            read_frame(&mut tcp).await,
            (
                true,
                CLOSE,
                close_payload(1000, "server closing connection")
            )
        );
        tcp.write_all(&frame(CLOSE, true, &close_payload(1000, "")))
            .await
            .expect("close reply");
        let mut rest = Vec::new();
        tcp.read_to_end(&mut rest).await.expect("server closes TCP");
        assert!(rest.is_empty(), "nothing after the close frame: {rest:?}");
    })
    .await;
}

#[tokio::test]
async fn invalid_json_closes_with_1007_and_a_reason() {
    bounded(async {
        let server = start().await;
        let (mut tcp, _) = upgrade(server.addr, "/echo").await;
        tcp.write_all(&frame(TEXT, true, b"{not json"))
            .await
            .expect("send");
        let (fin, opcode, payload) = read_frame(&mut tcp).await;
        assert!(fin);
        assert_eq!(opcode, CLOSE);
        assert_eq!(&payload[..2], &1007u16.to_be_bytes());
        let reason = String::from_utf8(payload[2..].to_vec()).expect("utf-8 reason");
        assert!(
            reason.starts_with("invalid message: key must be a string"),
            "{reason}"
        );
        assert!(payload.len() <= 125);
    })
    .await;
}

#[tokio::test]
async fn viewed_result_announces_its_view_in_the_101() {
    bounded(async {
        let server = start().await;
        let (mut tcp, head) = upgrade(
            server.addr,
            "/analytics?view=summary&interval_ms=10&rounds=1",
        )
        .await;
        assert!(
            head.to_ascii_lowercase().contains("goa-view: summary\r\n"),
            "{head}"
        );
        let (_, opcode, payload) = read_frame(&mut tcp).await;
        assert_eq!(opcode, TEXT);
        let text = String::from_utf8(payload).expect("utf-8");
        assert!(
            text.starts_with("{\"metric\":\"messages_total\",\"value\":"),
            "{text}"
        );
        assert!(text.ends_with("}\n"), "{text}");
    })
    .await;
}

#[tokio::test]
async fn server_streaming_client_leaving_with_1000_gets_the_close_echoed() {
    bounded(async {
        let server = start().await;
        let (mut tcp, _) = upgrade(server.addr, "/subscribe").await;
        // What a Go server-streaming client sends when its context ends.
        tcp.write_all(&frame(
            CLOSE,
            true,
            &close_payload(1000, "client closing connection"),
        ))
        .await
        .expect("close");
        let (_, opcode, payload) = read_frame(&mut tcp).await;
        assert_eq!(opcode, CLOSE);
        assert_eq!(&payload[..2], &1000u16.to_be_bytes());
        let mut rest = Vec::new();
        tcp.read_to_end(&mut rest).await.expect("server closes TCP");
        assert!(rest.is_empty());
    })
    .await;
}

#[tokio::test]
async fn refused_upgrade_gets_goa_error_body_not_a_socket() {
    bounded(async {
        let server = start().await;
        let (mut tcp, head) = upgrade(server.addr, "/analytics?view=bogus").await;
        assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
        let mut body = vec![0u8; 512];
        let n = tcp.read(&mut body).await.expect("body");
        let text = String::from_utf8_lossy(&body[..n]).into_owned();
        assert!(
            text.starts_with("{\"name\":\"invalid_enum_value\",\"id\":\""),
            "{text}"
        );
        assert!(
            text.ends_with(",\"temporary\":false,\"timeout\":false,\"fault\":false}\n"),
            "{text}"
        );
    })
    .await;
}

#[tokio::test]
async fn analytics_compresses_for_clients_that_offer_it_as_its_design_says() {
    bounded(async {
        let server = start().await;
        let offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
        let (_, head) = send_head(
            server.addr,
            &go_upgrade_request(server.addr, "/analytics?rounds=1", offer),
        )
        .await;
        assert!(
            head.to_ascii_lowercase()
                .contains("sec-websocket-extensions: permessage-deflate"),
            "{head}"
        );
        // Goa's clients offer nothing and get nothing.
        let (_, head) = send_head(
            server.addr,
            &go_upgrade_request(server.addr, "/analytics?rounds=1", ""),
        )
        .await;
        assert!(
            !head
                .to_ascii_lowercase()
                .contains("sec-websocket-extensions"),
            "{head}"
        );
        // Endpoints without it in the design never compress.
        let (_, head) = send_head(
            server.addr,
            &go_upgrade_request(server.addr, "/echo", offer),
        )
        .await;
        assert!(
            !head
                .to_ascii_lowercase()
                .contains("sec-websocket-extensions"),
            "{head}"
        );
    })
    .await;
}
