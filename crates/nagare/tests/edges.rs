//! Protocol edges of the connection runtime, over a raw TCP socket: every protocol
//! error is answered with a close frame carrying the right code, after the
//! messages that arrived before it are answered.

mod support;

use nagare::{RawStream, ServerOptions, StreamError};
use support::{raw_upgrade, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A raw echo on a loopback port.
async fn echo() -> std::net::SocketAddr {
    serve(ServerOptions::new(), |conn| async move {
        let mut s = RawStream::new(conn);
        while let Some(d) = s.recv().await? {
            s.send(d).await?;
        }
        Ok::<_, StreamError>(())
    })
    .await
}

/// A raw socket past the handshake with the echo.
async fn connect() -> TcpStream {
    raw_upgrade(echo().await).await
}

use nagare_testkit::wire::raw_frame as frame;

/// Reads server frames until a close frame; returns the data payloads before it
/// and the close code.
async fn until_close(tcp: &mut TcpStream) -> (Vec<Vec<u8>>, u16) {
    let mut data = Vec::new();
    loop {
        let (_, opcode, payload) = nagare_testkit::wire::read_frame(tcp).await;
        if opcode == nagare_testkit::wire::CLOSE {
            return (data, u16::from_be_bytes([payload[0], payload[1]]));
        }
        data.push(payload);
    }
}

use support::bounded;

#[tokio::test]
async fn messages_before_a_protocol_violation_are_answered_then_1002() {
    bounded(async {
        let mut tcp = connect().await;
        let mut bytes = frame(0x81, b"before");
        bytes.extend(frame(0x81 | 0x20, b"reserved bit set"));
        tcp.write_all(&bytes).await.expect("send");
        let (data, code) = until_close(&mut tcp).await;
        assert_eq!(data, vec![b"before".to_vec()]);
        assert_eq!(code, 1002);
    })
    .await;
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_1007() {
    bounded(async {
        let mut tcp = connect().await;
        tcp.write_all(&frame(0x81, &[0xce, 0xba, 0xff]))
            .await
            .expect("send");
        assert_eq!(until_close(&mut tcp).await.1, 1007);
    })
    .await;
}

#[tokio::test]
async fn message_over_the_limit_closes_with_1009() {
    bounded(async {
        let mut tcp = connect().await;
        // The default limit is 1 MiB; announce 2 MiB.
        let big = vec![b'x'; 2 << 20];
        // The server may close before reading everything, so a write error is fine.
        let _ = tcp.write_all(&frame(0x82, &big)).await;
        assert_eq!(until_close(&mut tcp).await.1, 1009);
    })
    .await;
}

#[tokio::test]
async fn a_cross_origin_browser_is_refused_with_403_before_the_upgrade() {
    bounded(async {
        let addr = echo().await;
        let request = |origin: &str| {
            format!(
                "GET /s HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            )
        };
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(request("https://evil.example").as_bytes()).await.expect("write");
        let mut out = String::new();
        tcp.read_to_string(&mut out).await.expect("read");
        assert!(out.starts_with("HTTP/1.1 403"), "{out}");
        assert!(out.contains("\"name\":\"forbidden_origin\""), "{out}");
        assert!(out.contains("origin \\\"https://evil.example\\\" is not allowed"), "{out}");
        // A page served by the same host may connect.
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(request(&format!("http://{addr}")).as_bytes()).await.expect("write");
        let mut head = [0u8; 12];
        tcp.read_exact(&mut head).await.expect("read");
        assert_eq!(&head, b"HTTP/1.1 101");
    })
    .await;
}
