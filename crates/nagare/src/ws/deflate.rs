//! The permessage-deflate backend (feature `compression`): connections that
//! negotiate compression run on yawc, whose codec implements RFC 7692; all others
//! stay on tungstenite.

use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use yawc::{Frame, HttpStream, OpCode, WebSocket, WebSocketError};

use super::frame::{CloseFrame, Data, Received, TextBytes, WsError};

/// Settings of compressed connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compression {
    /// zlib level, 0 (none) to 9 (smallest, slowest).
    pub level: u32,
    /// Messages smaller than this are sent uncompressed: small messages gain
    /// little and cost a deflate call each.
    pub threshold: usize,
}

impl Default for Compression {
    fn default() -> Self {
        Compression {
            level: 1,
            threshold: 256,
        }
    }
}

impl Compression {
    /// yawc's options: no context takeover in either direction, so a connection
    /// holds no deflate state between messages; the state lives in one pool for the
    /// process, taken for a message and given back, so memory follows messages in
    /// flight rather than open connections. The inflated size is capped at the
    /// message limit (a bomb closes with 1009).
    pub(crate) fn options(self, ws: super::WsConfig) -> yawc::Options {
        yawc::Options::default()
            .with_compression_level(yawc::CompressionLevel::new(self.level.min(9)))
            .server_no_context_takeover()
            .client_no_context_takeover()
            .with_deflate_pool(pool(self.level))
            .with_compression_threshold(self.threshold)
            .with_max_payload_read(ws.max_message_size)
            .with_read_buffer_capacity(ws.read_buffer_size)
            .with_write_buffer_capacity(ws.write_buffer_size)
            .with_utf8()
    }
}

/// Deflate state kept for reuse: about as many as messages compressed at the same
/// moment, which is about the number of worker threads. One pool per compression
/// level, since state built for one level is not reused for another.
fn pool(level: u32) -> yawc::DeflatePool {
    static POOLS: OnceLock<Mutex<Vec<(u32, yawc::DeflatePool)>>> = OnceLock::new();
    let pools = POOLS.get_or_init(|| Mutex::new(Vec::new()));
    let mut pools = pools.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, p)) = pools.iter().find(|(l, _)| *l == level) {
        return p.clone();
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let p = yawc::DeflatePool::new(2 * workers);
    pools.push((level, p.clone()));
    p
}

/// Whether a request offers permessage-deflate.
pub(crate) fn offers_deflate(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|ext| {
            ext.trim()
                .split(';')
                .next()
                .is_some_and(|n| n.trim() == "permessage-deflate")
        })
}

/// yawc's socket, and where the closing handshake stands.
///
/// yawc answers every close frame it receives with one of its own, even when
/// our close went first and the peer's is the reply: a second close frame,
/// which RFC 6455 forbids and Chromium fails the connection for ("Close
/// received after close"). So once our close is sent, the peer's reply ends
/// the reading and yawc is not polled again to send its answer.
pub(crate) struct Socket {
    ws: WebSocket<HttpStream>,
    /// Our close frame has been sent.
    closing: bool,
    /// The peer's close has been received after ours: the handshake is over.
    closed: bool,
}

impl Socket {
    pub(crate) fn new(ws: WebSocket<HttpStream>) -> Self {
        Socket {
            ws,
            closing: false,
            closed: false,
        }
    }

    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Received, WsError>>> {
        loop {
            if self.closed {
                return Poll::Ready(None);
            }
            let frame = match self.ws.poll_next_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(f)) => f,
                Poll::Ready(Err(WebSocketError::ConnectionClosed)) => return Poll::Ready(None),
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(error(e)))),
            };
            let received = match frame.opcode() {
                OpCode::Text => match Utf8Bytes::try_from(frame.payload().clone()) {
                    Ok(t) => Received::Data(Data::Text(TextBytes::from_utf8_bytes(t))),
                    Err(_) => return Poll::Ready(Some(Err(WsError::InvalidUtf8))),
                },
                OpCode::Binary => Received::Data(Data::Binary(frame.payload().clone())),
                OpCode::Close => {
                    self.closed = self.closing;
                    Received::Close(frame.close_code().map(|code| {
                        CloseFrame {
                            code: u16::from(code),
                            reason: frame
                                .close_reason()
                                .ok()
                                .flatten()
                                .unwrap_or_default()
                                .to_owned(),
                        }
                    }))
                }
                OpCode::Ping | OpCode::Pong => Received::Control,
                // Fragments are reassembled by yawc before they get here.
                _ => continue,
            };
            return Poll::Ready(Some(Ok(received)));
        }
    }

    pub(crate) async fn feed(&mut self, frame: Frame) -> Result<(), WsError> {
        std::future::poll_fn(|cx| self.poll_ready(cx)).await?;
        self.start_send(frame)
    }

    pub(crate) async fn flush(&mut self) -> Result<(), WsError> {
        std::future::poll_fn(|cx| self.poll_flush(cx)).await
    }

    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        self.ws.poll_ready_unpin(cx).map_err(error)
    }

    pub(crate) fn start_send(&mut self, frame: Frame) -> Result<(), WsError> {
        if frame.opcode() == OpCode::Close {
            self.closing = true;
        }
        self.ws.start_send_unpin(frame).map_err(error)
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        self.ws.poll_flush_unpin(cx).map_err(error)
    }

    pub(crate) async fn shutdown(&mut self) {
        let _ = std::future::poll_fn(|cx| self.ws.poll_close_unpin(cx)).await;
    }
}

/// The frame for a data message.
pub(crate) fn data_frame(data: Data) -> Frame {
    match data {
        Data::Text(t) => Frame::text(Bytes::from(t.into_utf8_bytes())),
        Data::Binary(b) => Frame::binary(b),
    }
}

fn error(e: WebSocketError) -> WsError {
    match e {
        WebSocketError::ConnectionClosed => WsError::Closed,
        WebSocketError::InvalidUTF8 => WsError::InvalidUtf8,
        WebSocketError::FrameTooLarge => WsError::TooBig { size: 0, max: 0 },
        WebSocketError::IoError(io) => WsError::Io(io),
        other => WsError::Protocol(other.to_string()),
    }
}
