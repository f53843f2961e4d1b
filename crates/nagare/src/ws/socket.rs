//! An established WebSocket: read data messages, write batches, close with a code.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// The text of a text frame: valid UTF-8, cheap to clone.
#[derive(Clone, PartialEq, Eq)]
pub struct TextBytes(Utf8Bytes);

impl TextBytes {
    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    #[cfg(feature = "compression")]
    pub(crate) fn from_utf8_bytes(t: Utf8Bytes) -> Self {
        TextBytes(t)
    }

    #[cfg(feature = "compression")]
    pub(crate) fn into_utf8_bytes(self) -> Utf8Bytes {
        self.0
    }
}

impl fmt::Debug for TextBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<String> for TextBytes {
    fn from(s: String) -> Self {
        TextBytes(Utf8Bytes::from(s))
    }
}

impl From<&'static str> for TextBytes {
    fn from(s: &'static str) -> Self {
        TextBytes(Utf8Bytes::from_static(s))
    }
}

/// One data message, whole (fragments are reassembled by the adapter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    Text(TextBytes),
    Binary(Bytes),
}

impl Data {
    /// The payload bytes, whatever the opcode.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Data::Text(t) => t.0.as_bytes(),
            Data::Binary(b) => b,
        }
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn into_message(self) -> Message {
        match self {
            Data::Text(t) => Message::Text(t.0),
            Data::Binary(b) => Message::Binary(b),
        }
    }
}

/// A close frame: code and reason (at most 123 bytes of UTF-8 on the wire).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    pub code: u16,
    pub reason: String,
}

impl CloseFrame {
    /// A close frame; the reason is cut at a character boundary to fit the 123
    /// bytes a control frame allows.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        if reason.len() > 123 {
            let mut end = 123;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        CloseFrame { code, reason }
    }

    fn to_tungstenite(&self) -> TCloseFrame {
        TCloseFrame {
            code: CloseCode::from(self.code),
            reason: Utf8Bytes::from(self.reason.clone()),
        }
    }
}

/// What the reader yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// A data message.
    Data(Data),
    /// The peer's close frame (already echoed by the adapter); `None` when it
    /// carried no code.
    Close(Option<CloseFrame>),
    /// A ping (already answered) or a pong: proof the peer is alive.
    Control,
}

/// Errors of an established WebSocket.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// The peer broke RFC 6455 (bad opcode, reserved bits, unmasked frame...).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A text frame (or close reason) was not valid UTF-8.
    #[error("invalid UTF-8 in a text frame")]
    InvalidUtf8,
    /// A frame or message exceeded the configured limit.
    #[error("message of {size} bytes exceeds the limit of {max} bytes")]
    TooBig { size: usize, max: usize },
    /// The peer went away without a close frame.
    #[error("connection reset without a closing handshake")]
    Reset,
    /// The connection is already closed.
    #[error("connection closed")]
    Closed,
    /// The outgoing buffer is full: the peer does not read.
    #[error("write buffer full: the peer is not reading")]
    WriteBufferFull,
    /// Socket I/O failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl WsError {
    /// The close code to send for this error, if one should be sent (RFC 6455
    /// section 7.4.1): 1002 protocol error, 1007 invalid data, 1009 too big.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            WsError::Protocol(_) => Some(1002),
            WsError::InvalidUtf8 => Some(1007),
            WsError::TooBig { .. } => Some(1009),
            _ => None,
        }
    }

    fn from_tungstenite(e: tungstenite::Error) -> Self {
        use tungstenite::Error as E;
        match e {
            E::ConnectionClosed | E::AlreadyClosed => WsError::Closed,
            E::Io(io) => WsError::Io(io),
            E::Utf8(_) => WsError::InvalidUtf8,
            E::Capacity(CapacityError::MessageTooLong { size, max_size }) => WsError::TooBig {
                size,
                max: max_size,
            },
            E::Capacity(other) => WsError::Protocol(other.to_string()),
            E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => WsError::Reset,
            E::Protocol(ProtocolError::InvalidCloseSequence) => {
                WsError::Protocol("invalid close code".into())
            }
            E::Protocol(p) => WsError::Protocol(p.to_string()),
            E::WriteBufferFull(_) => WsError::WriteBufferFull,
            other => WsError::Protocol(other.to_string()),
        }
    }
}

/// An established WebSocket over any byte stream.
pub struct Socket<S> {
    inner: Backend<S>,
}

/// The WebSocket implementation behind a connection: tungstenite, or yawc for
/// connections that negotiated permessage-deflate (feature `compression`).
// A `Socket` is split as soon as it exists, so the variants' size difference is
// never paid for long; boxing would cost an allocation per connection.
#[allow(clippy::large_enum_variant)]
enum Backend<S> {
    Tungstenite(WebSocketStream<S>),
    #[cfg(feature = "compression")]
    Deflate(super::deflate::Shared),
}

impl<S: AsyncRead + AsyncWrite + Unpin> Socket<S> {
    pub(crate) fn new(inner: WebSocketStream<S>) -> Self {
        Socket {
            inner: Backend::Tungstenite(inner),
        }
    }

    /// A connection that negotiated permessage-deflate.
    #[cfg(feature = "compression")]
    pub(crate) fn deflate(ws: yawc::WebSocket<yawc::HttpStream>) -> Self {
        Socket {
            inner: Backend::Deflate(super::deflate::Shared::new(ws)),
        }
    }

    /// Splits into a reader and a writer that can be used concurrently.
    pub fn split(self) -> (SocketReader<S>, SocketWriter<S>) {
        match self.inner {
            Backend::Tungstenite(ws) => {
                let (tx, rx) = ws.split();
                (
                    SocketReader {
                        inner: ReaderInner::Tungstenite(rx),
                    },
                    SocketWriter {
                        inner: WriterInner::Tungstenite(tx),
                    },
                )
            }
            #[cfg(feature = "compression")]
            Backend::Deflate(shared) => (
                SocketReader {
                    inner: ReaderInner::Deflate(shared.clone()),
                },
                SocketWriter {
                    inner: WriterInner::Deflate(shared),
                },
            ),
        }
    }
}

enum ReaderInner<S> {
    Tungstenite(SplitStream<WebSocketStream<S>>),
    #[cfg(feature = "compression")]
    Deflate(super::deflate::Shared),
}

enum WriterInner<S> {
    Tungstenite(SplitSink<WebSocketStream<S>, Message>),
    #[cfg(feature = "compression")]
    Deflate(super::deflate::Shared),
}

/// The reading half. Reading also sends the replies the protocol requires (pongs,
/// the close echo), so a connection must be read continuously to stay healthy.
pub struct SocketReader<S> {
    inner: ReaderInner<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> SocketReader<S> {
    /// The next data message or close; `None` once the connection is finished.
    ///
    /// Cancel safe: a message is never lost if the future is dropped.
    pub async fn recv(&mut self) -> Option<Result<Received, WsError>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Received, WsError>>> {
        let inner = match &mut self.inner {
            ReaderInner::Tungstenite(inner) => inner,
            #[cfg(feature = "compression")]
            ReaderInner::Deflate(shared) => return shared.poll_recv(cx),
        };
        loop {
            let msg = match Pin::new(&mut *inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Some(Err(WsError::from_tungstenite(e))))
                }
                Poll::Ready(Some(Ok(m))) => m,
            };
            let received = match msg {
                Message::Text(t) => Received::Data(Data::Text(TextBytes(t))),
                Message::Binary(b) => Received::Data(Data::Binary(b)),
                Message::Close(frame) => Received::Close(frame.map(|f| CloseFrame {
                    code: u16::from(f.code),
                    reason: f.reason.as_str().to_owned(),
                })),
                // Pings are answered by the crate; both prove the peer alive.
                Message::Ping(_) | Message::Pong(_) => Received::Control,
                Message::Frame(_) => continue,
            };
            return Poll::Ready(Some(Ok(received)));
        }
    }
}

/// The writing half. Writes are buffered until [`flush`](Self::flush), so a batch
/// of messages costs one syscall.
pub struct SocketWriter<S> {
    inner: WriterInner<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> SocketWriter<S> {
    /// Queues a message without flushing.
    pub async fn feed(&mut self, data: Data) -> Result<(), WsError> {
        match &mut self.inner {
            WriterInner::Tungstenite(inner) => inner
                .feed(data.into_message())
                .await
                .map_err(WsError::from_tungstenite),
            #[cfg(feature = "compression")]
            WriterInner::Deflate(shared) => shared.feed(super::deflate::data_frame(data)).await,
        }
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<(), WsError> {
        match &mut self.inner {
            WriterInner::Tungstenite(inner) => {
                inner.flush().await.map_err(WsError::from_tungstenite)
            }
            #[cfg(feature = "compression")]
            WriterInner::Deflate(shared) => shared.flush().await,
        }
    }

    /// Sends a ping with a small payload.
    pub async fn ping(&mut self, payload: Bytes) -> Result<(), WsError> {
        match &mut self.inner {
            WriterInner::Tungstenite(inner) => inner
                .send(Message::Ping(payload))
                .await
                .map_err(WsError::from_tungstenite),
            #[cfg(feature = "compression")]
            WriterInner::Deflate(shared) => {
                shared.feed(yawc::Frame::ping(payload)).await?;
                shared.flush().await
            }
        }
    }

    /// Starts the closing handshake with `frame` and flushes it. Closing twice is
    /// not an error.
    pub async fn close(&mut self, frame: &CloseFrame) -> Result<(), WsError> {
        match &mut self.inner {
            WriterInner::Tungstenite(inner) => match inner
                .send(Message::Close(Some(frame.to_tungstenite())))
                .await
            {
                Ok(()) => Ok(()),
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    Ok(())
                }
                Err(tungstenite::Error::Protocol(ProtocolError::SendAfterClosing)) => Ok(()),
                Err(e) => Err(WsError::from_tungstenite(e)),
            },
            #[cfg(feature = "compression")]
            WriterInner::Deflate(shared) => {
                let close = yawc::Frame::close(
                    yawc::close::CloseCode::from(frame.code),
                    frame.reason.as_bytes(),
                );
                match shared.feed(close).await {
                    Ok(()) | Err(WsError::Closed) => {}
                    Err(e) => return Err(e),
                }
                match shared.flush().await {
                    Ok(()) | Err(WsError::Closed) => Ok(()),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Shuts the underlying stream down (TCP FIN).
    pub async fn shutdown(&mut self) {
        match &mut self.inner {
            WriterInner::Tungstenite(inner) => {
                let _ = SinkExt::<Message>::close(inner).await;
            }
            #[cfg(feature = "compression")]
            WriterInner::Deflate(shared) => shared.shutdown().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reason_is_cut_at_a_char_boundary() {
        let long = "é".repeat(100);
        let f = CloseFrame::new(1011, long);
        assert!(f.reason.len() <= 123);
        assert_eq!(f.reason.len(), 122);
    }

    #[test]
    fn protocol_errors_map_to_close_codes() {
        assert_eq!(WsError::Protocol("x".into()).close_code(), Some(1002));
        assert_eq!(WsError::InvalidUtf8.close_code(), Some(1007));
        assert_eq!(WsError::TooBig { size: 2, max: 1 }.close_code(), Some(1009));
        assert_eq!(WsError::Reset.close_code(), None);
    }
}
