//! The receiving side of a connection: what the driver hands to the receiving
//! handle, and how a connection's end is reported to it.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_channel::mpsc;
use futures_util::StreamExt;

use crate::close::CloseCode;
use crate::conn::outbound::OutboundSender;
use crate::error::StreamError;
use crate::ws::{CloseFrame, Data};

/// What the driver delivers to the receiving handle.
#[derive(Debug)]
pub(crate) enum Inbound {
    Data(Data),
    /// The connection ended; always the last item.
    End(End),
}

/// How a connection ended, seen from the reader.
#[derive(Debug, Clone)]
pub(crate) enum End {
    /// The peer sent a close frame.
    PeerClosed(Option<CloseFrame>),
    /// The connection failed with this error.
    Failed(StreamError),
}

impl End {
    /// The error a receiver reports for this end, or `None` for a clean end (close
    /// 1000, or a close without code). The same error every time it is asked.
    pub(crate) fn error(&self) -> Option<StreamError> {
        match self {
            End::PeerClosed(None) => None,
            End::PeerClosed(Some(f)) if f.code == CloseCode::NORMAL => None,
            End::PeerClosed(Some(f)) => Some(StreamError::from_close(f)),
            End::Failed(e) => Some(e.clone()),
        }
    }
}

/// The receiving end of a connection, at the level of raw messages.
pub(crate) struct RawReceiver {
    rx: mpsc::Receiver<Inbound>,
    /// Set once the end was seen, so later calls keep reporting it. Boxed: every
    /// open connection holds this field, only an ended one fills it.
    ended: Option<Box<End>>,
}

impl RawReceiver {
    pub(crate) fn new(rx: mpsc::Receiver<Inbound>) -> Self {
        RawReceiver { rx, ended: None }
    }

    /// The next data message; `Ok(None)` at a clean end of the connection. After
    /// the end, every call reports it again.
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Data>, StreamError>> {
        if let Some(end) = &self.ended {
            return Poll::Ready(end.error().map_or(Ok(None), Err));
        }
        let end = match self.rx.poll_next_unpin(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(Inbound::Data(d))) => return Poll::Ready(Ok(Some(d))),
            Poll::Ready(Some(Inbound::End(end))) => end,
            // The driver is gone without saying why: it had no room to.
            Poll::Ready(None) => End::Failed(StreamError::lost("connection closed")),
        };
        let r = end.error().map_or(Ok(None), Err);
        self.ended = Some(Box::new(end));
        Poll::Ready(r)
    }

    /// Skips data until the connection ends: `Ok(true)` at a clean end, the error
    /// otherwise; `Ok(false)` after skipping one unexpected data message.
    pub(crate) async fn next_end(&mut self) -> Result<bool, StreamError> {
        match std::future::poll_fn(|cx| self.poll_recv(cx)).await {
            Ok(None) => Ok(true),
            Ok(Some(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Shared ownership of a connection's outbound queue. The connection stays open
/// while any clone lives; the last drop makes the driver close it.
#[derive(Clone)]
pub(crate) struct Keepalive {
    /// Held for its drop only.
    _tx: Arc<OutboundSender>,
}

impl Keepalive {
    pub(crate) fn new(tx: OutboundSender) -> Self {
        Keepalive { _tx: Arc::new(tx) }
    }
}
