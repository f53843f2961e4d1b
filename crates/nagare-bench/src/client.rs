//! The load generator's side of the wire: connecting, raw upgrades and
//! frames, the guide's messages, and waiting for room followers.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::servers::ws_config;

/// A message of exactly `size` bytes on the wire for both servers: the guide's
/// JSON body, which the bare server echoes as opaque text.
pub(crate) fn payload(size: usize) -> String {
    let overhead = "{\"message\":\"\"}\n".len();
    format!(
        "{{\"message\":\"{}\"}}\n",
        "x".repeat(size.saturating_sub(overhead))
    )
}

pub(crate) async fn connect(
    addr: SocketAddr,
    path: &str,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{addr}{path}"),
        tcp,
        Some(ws_config()),
    )
    .await?;
    Ok(ws)
}

/// A WebSocket upgrade on a raw socket; the socket once the 101 is read.
pub(crate) async fn upgrade(addr: SocketAddr, path: &str) -> anyhow::Result<TcpStream> {
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await?;
    // Nothing follows the 101 until the client sends: the head is read in
    // chunks, not a byte per system call.
    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tcp.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "the server closed during the upgrade");
        head.extend_from_slice(&chunk[..n]);
    }
    anyhow::ensure!(
        head.starts_with(b"HTTP/1.1 101"),
        "upgrade refused: {}",
        String::from_utf8_lossy(&head)
    );
    Ok(tcp)
}

/// The length of the server frame at the start of `bytes`, if it is all
/// there, and whether it carries data (text or binary) rather than control.
pub(crate) fn frame_at(bytes: &[u8]) -> Option<(usize, bool)> {
    let (&b0, &b1) = (bytes.first()?, bytes.get(1)?);
    let (len, header) = match b1 & 0x7f {
        126 => (
            u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]) as usize,
            4,
        ),
        127 => {
            let raw: [u8; 8] = bytes.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(raw) as usize, 10)
        }
        n => (n as usize, 2),
    };
    let total = header + len;
    (bytes.len() >= total).then_some((total, matches!(b0 & 0x0f, 0x1 | 0x2)))
}

/// Sends one message on a guide listener: an event of the chat's room.
pub(crate) async fn publish_line(
    listener: &mut guide::chat::ListenerClientStream,
    message: String,
) -> anyhow::Result<()> {
    listener
        .send(&guide::chat::ListenerStreamingPayload { message })
        .await
        .context("publish")
}

/// Waits until the slowest of the subscribers (`progress`: events each has
/// received) is within `window` events of event `e`, woken by `advanced`.
pub(crate) async fn within_window(
    progress: &[std::sync::atomic::AtomicU64],
    advanced: &mut tokio::sync::watch::Receiver<()>,
    e: u64,
    window: u64,
) -> anyhow::Result<()> {
    loop {
        let min = progress
            .iter()
            .map(|p| p.load(std::sync::atomic::Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        if min + window >= e {
            return Ok(());
        }
        advanced.changed().await.context("subscribers stopped")?;
    }
}

/// Waits until `subscribers` follow a room (each counted in `following` when
/// it sees its first marker): `true` then, `false` after a second without
/// progress, when the caller sends another marker. A marker goes to every
/// subscriber, so one a second does not flood a run with markers still being
/// delivered when it starts.
pub(crate) async fn all_following(
    following: &std::sync::atomic::AtomicU64,
    subscribers: usize,
    progress: &mut tokio::sync::watch::Receiver<()>,
) -> anyhow::Result<bool> {
    loop {
        if following.load(std::sync::atomic::Ordering::Relaxed) == subscribers as u64 {
            return Ok(true);
        }
        match tokio::time::timeout(Duration::from_secs(1), progress.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => bail!("subscribers stopped"),
            Err(_) => return Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::frame_at;

    #[test]
    fn frames_are_measured_from_their_headers() {
        // A text frame of 3 bytes, then half of a binary frame of 300.
        let mut bytes = vec![0x81, 3, b'a', b'b', b'c', 0x82, 126, 1, 44];
        assert_eq!(frame_at(&bytes), Some((5, true)));
        assert_eq!(frame_at(&bytes[5..]), None, "incomplete");
        bytes.extend(std::iter::repeat_n(0u8, 300));
        assert_eq!(frame_at(&bytes[5..]), Some((304, true)));
        // A ping is counted as a frame, not as a reply.
        assert_eq!(frame_at(&[0x89, 0]), Some((2, false)));
    }
}
