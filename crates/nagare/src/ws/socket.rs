//! An established WebSocket: read data messages, write batches, close with a code.
//!
//! The connection's driver alone reads and writes, one after the other, so the
//! socket is not split into halves: a split puts a lock in front of every poll.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{SinkExt, Stream};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use super::frame::{CloseFrame, Data, Received, TextBytes, WsError};

/// An established WebSocket over any byte stream.
pub(crate) struct Socket<S> {
    inner: Backend<S>,
}

/// The WebSocket implementation behind a connection: tungstenite, or yawc for
/// connections that negotiated permessage-deflate (feature `compression`).
// yawc's socket is boxed: inline, it would make every connection's task as
// large as a compressed one (about 1.9 KiB more each). Tungstenite's stays
// inline: boxing it would cost every connection an allocation.
#[allow(clippy::large_enum_variant)]
enum Backend<S> {
    Tungstenite(WebSocketStream<S>),
    #[cfg(feature = "compression")]
    Deflate(Box<super::deflate::Socket>),
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
            inner: Backend::Deflate(Box::new(super::deflate::Socket::new(ws))),
        }
    }

    /// The next data message or close; `None` once the connection is finished.
    /// Reading also sends the replies the protocol requires (pongs, the close
    /// echo), so a connection must be read continuously to stay healthy.
    ///
    /// Loses no message when the caller stops polling before it is ready.
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Received, WsError>>> {
        // A single arm without the `compression` feature.
        #[allow(clippy::infallible_destructuring_match)]
        let inner = match &mut self.inner {
            Backend::Tungstenite(inner) => inner,
            #[cfg(feature = "compression")]
            Backend::Deflate(shared) => return shared.poll_recv(cx),
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
                Message::Text(t) => Received::Data(Data::Text(TextBytes::from_utf8_bytes(t))),
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

    /// Ready when a message can be queued with [`start_send`](Self::start_send)
    /// (the write buffer has room, or was written out to make room).
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        match &mut self.inner {
            Backend::Tungstenite(inner) => {
                SinkExt::<Message>::poll_ready_unpin(inner, cx).map_err(WsError::from_tungstenite)
            }
            #[cfg(feature = "compression")]
            Backend::Deflate(shared) => shared.poll_ready(cx),
        }
    }

    /// Queues a message without flushing, after `poll_ready`: writes are
    /// buffered until [`poll_flush`](Self::poll_flush), so a batch of messages
    /// costs one syscall.
    pub(crate) fn start_send(&mut self, data: Data) -> Result<(), WsError> {
        match &mut self.inner {
            Backend::Tungstenite(inner) => inner
                .start_send_unpin(data.into_message())
                .map_err(WsError::from_tungstenite),
            #[cfg(feature = "compression")]
            Backend::Deflate(shared) => shared.start_send(super::deflate::data_frame(data)),
        }
    }

    /// Writes everything queued.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        match &mut self.inner {
            Backend::Tungstenite(inner) => {
                SinkExt::<Message>::poll_flush_unpin(inner, cx).map_err(WsError::from_tungstenite)
            }
            #[cfg(feature = "compression")]
            Backend::Deflate(shared) => shared.poll_flush(cx),
        }
    }

    /// Sends a ping with a small payload.
    pub(crate) async fn ping(&mut self, payload: Bytes) -> Result<(), WsError> {
        match &mut self.inner {
            Backend::Tungstenite(inner) => inner
                .send(Message::Ping(payload))
                .await
                .map_err(WsError::from_tungstenite),
            #[cfg(feature = "compression")]
            Backend::Deflate(shared) => {
                shared.feed(yawc::Frame::ping(payload)).await?;
                shared.flush().await
            }
        }
    }

    /// Starts the closing handshake with `frame` and flushes it. Closing twice is
    /// not an error.
    pub(crate) async fn close(&mut self, frame: &CloseFrame) -> Result<(), WsError> {
        match &mut self.inner {
            Backend::Tungstenite(inner) => match inner
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
            Backend::Deflate(shared) => {
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
    pub(crate) async fn shutdown(&mut self) {
        match &mut self.inner {
            Backend::Tungstenite(inner) => {
                let _ = SinkExt::<Message>::close(inner).await;
            }
            #[cfg(feature = "compression")]
            Backend::Deflate(shared) => shared.shutdown().await,
        }
    }
}
