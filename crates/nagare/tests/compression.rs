//! permessage-deflate: negotiated with a client that offers it, not with one that
//! does not, and a small frame that inflates past the message limit closes with 1009.

#![cfg(feature = "compression")]

mod support;

use std::io::Write;

use nagare::{RawStream, ServerOptions, StreamError};
use nagare_testkit::wire::{go_upgrade_request, raw_frame, read_frame, send_head};
use support::{bounded, serve};
use tokio::io::AsyncWriteExt;

async fn echo_server() -> std::net::SocketAddr {
    let mut options = ServerOptions::new();
    options.conn.compression = Some(nagare::ws::Compression {
        level: 1,
        threshold: 0,
    });
    serve(options, |conn| async move {
        let mut s = RawStream::new(conn);
        while let Some(d) = s.recv().await? {
            s.send(d).await?;
        }
        Ok::<_, StreamError>(())
    })
    .await
}

#[tokio::test]
async fn negotiated_only_when_offered() {
    bounded(async {
        let addr = echo_server().await;
        let offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
        let (_, head) = send_head(addr, &go_upgrade_request(addr, "/s", offer)).await;
        let lower = head.to_ascii_lowercase();
        assert!(
            lower.contains("sec-websocket-extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"),
            "{head}"
        );
        let (_, head) = send_head(addr, &go_upgrade_request(addr, "/s", "")).await;
        assert!(!head.to_ascii_lowercase().contains("sec-websocket-extensions"), "{head}");
    })
    .await;
}

#[tokio::test]
async fn a_compressing_client_round_trips() {
    bounded(async {
        let addr = echo_server().await;
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let url = url::Url::parse(&format!("ws://{addr}/s")).expect("url");
        let options =
            yawc::Options::default().with_compression_level(yawc::CompressionLevel::new(1));
        let mut ws = yawc::WebSocket::handshake(url, tcp, options)
            .await
            .expect("handshake");
        use futures_util::{SinkExt, StreamExt};
        let text = "a fairly repetitive message ".repeat(50);
        ws.send(yawc::Frame::text(text.clone()))
            .await
            .expect("send");
        let back = ws.next().await.expect("a reply");
        assert_eq!(back.payload().as_ref(), text.as_bytes());
    })
    .await;
}

#[tokio::test]
async fn a_decompression_bomb_closes_with_1009() {
    bounded(async {
        let addr = echo_server().await;
        let offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
        let (mut tcp, head) = send_head(addr, &go_upgrade_request(addr, "/s", offer)).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        // 8 MiB of zeros deflate to a few KiB; the limit is 1 MiB.
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 8 << 20]).expect("deflate");
        let mut compressed = z.finish().expect("deflate");
        // RFC 7692: drop the final empty block's 00 00 ff ff tail.
        if compressed.ends_with(&[0, 0, 0xff, 0xff]) {
            compressed.truncate(compressed.len() - 4);
        }
        assert!(compressed.len() < 64 * 1024);
        // FIN, RSV1 (compressed), binary.
        let _ = tcp
            .write_all(&raw_frame(0x80 | 0x40 | 0x2, &compressed))
            .await;
        loop {
            let (_, opcode, payload) = read_frame(&mut tcp).await;
            if opcode == 0x8 {
                assert_eq!(
                    &payload[..2],
                    &1009u16.to_be_bytes(),
                    "{:?}",
                    String::from_utf8_lossy(&payload[2..])
                );
                break;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn messages_below_the_threshold_go_uncompressed() {
    bounded(async {
        let mut options = ServerOptions::new();
        options.conn.compression = Some(nagare::ws::Compression {
            level: 1,
            threshold: 256,
        });
        let addr = serve(options, |conn| async move {
            let mut s = RawStream::new(conn);
            while let Some(d) = s.recv().await? {
                s.send(d).await?;
            }
            Ok::<_, StreamError>(())
        })
        .await;
        let offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
        let (mut tcp, head) = send_head(addr, &go_upgrade_request(addr, "/s", offer)).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        // A client may send uncompressed frames on a compressed connection.
        tcp.write_all(&raw_frame(0x81, b"small"))
            .await
            .expect("send");
        let (_, opcode, payload) = read_frame(&mut tcp).await;
        assert_eq!(
            (opcode, payload.as_slice()),
            (0x1, &b"small"[..]),
            "sent as is"
        );
        let big = "compressible ".repeat(100);
        tcp.write_all(&raw_frame(0x81, big.as_bytes()))
            .await
            .expect("send");
        let mut first = [0u8; 1];
        tokio::io::AsyncReadExt::read_exact(&mut tcp, &mut first)
            .await
            .expect("frame");
        assert_eq!(first[0] & 0x40, 0x40, "RSV1: the large reply is compressed");
    })
    .await;
}

/// RFC 6455 allows one close frame per side. When the server closes first
/// (a stream that ends), the client's close is the reply and must not be
/// answered again: yawc, which runs compressed connections, did, and
/// Chromium fails the connection for it ("Close received after close").
#[tokio::test]
async fn a_server_that_closes_first_sends_one_close_frame() {
    bounded(async {
        let mut options = ServerOptions::new();
        options.conn.compression = Some(nagare::ws::Compression {
            level: 1,
            threshold: 0,
        });
        // The stream sends one message and ends: close 1000 from the server.
        let addr = serve(options, |conn| async move {
            let mut s = RawStream::new(conn);
            s.send(nagare::ws::Data::Text("last".into())).await?;
            Ok::<_, StreamError>(())
        })
        .await;
        let offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
        let (mut tcp, head) = send_head(addr, &go_upgrade_request(addr, "/s", offer)).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let mut opcodes = Vec::new();
        loop {
            let (_, opcode, _) = read_frame(&mut tcp).await;
            opcodes.push(opcode);
            if opcode == 0x8 {
                break;
            }
        }
        assert_eq!(opcodes.first(), Some(&0x1), "{opcodes:?}");
        // The client's reply; then the server only closes the socket.
        tcp.write_all(&raw_frame(0x88, &1000u16.to_be_bytes()))
            .await
            .expect("reply to the close");
        let mut rest = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut tcp, &mut rest)
            .await
            .expect("the server closes the socket");
        assert!(
            rest.is_empty(),
            "the server sent {} more bytes after its close (a second close frame: {:02x?})",
            rest.len(),
            &rest[..rest.len().min(8)]
        );
    })
    .await;
}
