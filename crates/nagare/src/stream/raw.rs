//! Raw data messages over the connection runtime, without JSON.

use crate::close::{CloseCode, SERVER_CLOSING};
use crate::conn::{Conn, Keepalive, OutboundSender, Priority, RawReceiver};
use crate::error::StreamError;
use crate::ws::{CloseFrame, Data};

/// A bidirectional stream of raw WebSocket data messages, without JSON or the
/// `null` convention: for proxies, tests and conformance suites. The connection
/// runtime (queues, batching, close codes) is the same as for typed streams.
pub struct RawStream {
    raw: RawReceiver,
    tx: OutboundSender,
    _keepalive: Keepalive,
}

impl RawStream {
    /// Wraps a server connection.
    pub fn new(conn: Conn) -> Self {
        let keepalive = Keepalive::new(conn.outbound.clone());
        RawStream {
            tx: conn.outbound.clone(),
            raw: RawReceiver::new(conn.inbound),
            _keepalive: keepalive,
        }
    }

    /// The next data message; `Ok(None)` when the peer closed with 1000 or no code.
    pub async fn recv(&mut self) -> Result<Option<Data>, StreamError> {
        std::future::poll_fn(|cx| self.raw.poll_recv(cx)).await
    }

    /// Queues a data message.
    pub async fn send(&mut self, data: Data) -> Result<(), StreamError> {
        let mut slot = Some(data);
        std::future::poll_fn(|cx| self.tx.poll_push(cx, &mut slot, Priority::Normal))
            .await
            .map_err(|_| StreamError::StreamClosed)
    }

    /// Ends the stream with close 1000 `server closing connection` after the
    /// queued messages (also done when the stream is dropped). Closing twice is
    /// not an error.
    pub async fn close(&mut self) -> Result<(), StreamError> {
        self.tx
            .close(CloseFrame::new(CloseCode::NORMAL, SERVER_CLOSING))
            .map_err(|_| StreamError::StreamClosed)
    }
}

impl std::fmt::Debug for RawStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawStream")
            .field("queued", &self.tx.len())
            .finish_non_exhaustive()
    }
}
