//! The receiving half of a connection: frames from the driver, decoded and
//! validated into typed messages.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::Stream;

use crate::conn::{Conn, Keepalive, RawReceiver, Side};
use crate::error::StreamError;
use crate::message::{is_end_of_stream, Message};
use crate::stream::ViewName;

/// Receives typed messages from a connection.
pub struct StreamReceiver<T> {
    raw: RawReceiver,
    side: Side,
    /// The client's `null` was seen: the stream is over.
    finished: bool,
    view: Option<ViewName>,
    _keepalive: Keepalive,
    _type: PhantomData<fn() -> T>,
}

impl<T: Message> StreamReceiver<T> {
    pub(super) fn new(
        conn: Conn,
        side: Side,
        view: Option<ViewName>,
        keepalive: Keepalive,
    ) -> Self {
        StreamReceiver {
            raw: RawReceiver::new(conn.inbound),
            side,
            finished: false,
            view,
            _keepalive: keepalive,
            _type: PhantomData,
        }
    }

    /// The next message; `Ok(None)` when the peer ended its stream.
    ///
    /// A message that fails decoding or validation gives
    /// [`StreamError::InvalidMessage`]; the stream stays usable. Cancel safe.
    pub async fn recv(&mut self) -> Result<Option<T>, StreamError> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<T>, StreamError>> {
        if self.finished {
            return Poll::Ready(Ok(None));
        }
        let data = match ready!(self.raw.poll_recv(cx)) {
            Ok(Some(d)) => d,
            Ok(None) => {
                self.finished = true;
                return Poll::Ready(Ok(None));
            }
            Err(e) => return Poll::Ready(Err(e)),
        };
        let bytes = data.as_bytes();
        if self.side == Side::Server && is_end_of_stream(bytes) {
            self.finished = true;
            return Poll::Ready(Ok(None));
        }
        Poll::Ready(
            T::decode(bytes, self.view.as_deref())
                .map(Some)
                .map_err(StreamError::InvalidMessage),
        )
    }

    /// The view messages are validated with.
    pub fn view(&self) -> Option<&str> {
        self.view.as_deref()
    }

    /// Sets the view received messages are validated with (the client learns it
    /// from the `Goa-View` header of the 101 response).
    pub fn set_view(&mut self, view: impl Into<ViewName>) {
        self.view = Some(view.into());
    }
}

impl<T> StreamReceiver<T> {
    /// Skips whatever still arrives until the connection ends: `Ok` at a clean
    /// end, the error that ended it otherwise.
    pub(super) async fn wait_end(&mut self) -> Result<(), StreamError> {
        while !self.raw.next_end().await? {}
        Ok(())
    }
}

impl<T: Message> Stream for StreamReceiver<T> {
    type Item = Result<T, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx).map(Result::transpose)
    }
}

impl<T> std::fmt::Debug for StreamReceiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReceiver")
            .field("side", &self.side)
            .field("view", &self.view)
            .field("finished", &self.finished)
            .finish()
    }
}
