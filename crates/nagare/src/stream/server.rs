//! The server's handles, one per streaming pattern.

use std::future::Future;

use crate::broker::{Feed, Room};
use crate::conn::{Conn, Priority, Side};
use crate::error::StreamError;
use crate::message::Message;
use crate::resume::ResumePoint;
use crate::stream::{halves, StreamReceiver, StreamSender, ViewName};

/// Server side of a server-streaming method: send results, then close.
pub struct ServerStream<R> {
    tx: StreamSender<R>,
}

impl<R: Message> ServerStream<R> {
    /// Wraps a server connection; `view` is the result view agreed before the
    /// upgrade. Called by generated code.
    pub fn new(conn: Conn, view: Option<ViewName>) -> Self {
        let (tx, _rx) = halves::<(), R>(conn, Side::Server, None, view);
        ServerStream { tx }
    }

    delegate_send!();

    /// Ends the stream with close 1000. Returning from the service method does the
    /// same, so calling this is optional.
    pub async fn close(&mut self) -> Result<(), StreamError> {
        self.tx.close().await
    }

    /// The view results are rendered with.
    pub fn view(&self) -> Option<&str> {
        self.tx.view()
    }

    /// Streams a room to the client, resuming where it stopped; see
    /// [`StreamSender::follow`].
    pub async fn follow(&mut self, room: &Room<R>) -> Result<(), StreamError> {
        self.tx.follow(room).await
    }

    /// Streams a feed opened from [`resume_point`](Self::resume_point); see
    /// [`StreamSender::follow_feed`].
    pub async fn follow_feed(&mut self, feed: Feed) -> Result<(), StreamError> {
        self.tx.follow_feed(feed).await
    }

    /// The point a `nagare.v1` client offered to resume from; see
    /// [`StreamSender::resume_point`].
    pub fn resume_point(&self) -> Option<&ResumePoint> {
        self.tx.resume_point()
    }

    /// Resolves when the client is gone; see [`StreamSender::closed`].
    pub fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        self.tx.closed()
    }

    /// The sender, to move into another task or use as a [`Sink`](futures_util::Sink).
    pub fn into_sender(self) -> StreamSender<R> {
        self.tx
    }
}

impl<R> AsMut<StreamSender<R>> for ServerStream<R> {
    fn as_mut(&mut self) -> &mut StreamSender<R> {
        &mut self.tx
    }
}

/// Server side of a client-streaming method without a result.
pub struct ServerRecvStream<P> {
    rx: StreamReceiver<P>,
    tx: StreamSender<()>,
}

impl<P: Message> ServerRecvStream<P> {
    /// Wraps a server connection. Called by generated code.
    pub fn new(conn: Conn) -> Self {
        let (tx, rx) = halves::<P, ()>(conn, Side::Server, None, None);
        ServerRecvStream { rx, tx }
    }

    delegate_recv!();

    /// Ends the exchange with close 1000 (also done when the method returns).
    pub async fn close(&mut self) -> Result<(), StreamError> {
        self.tx.close().await
    }

    /// The receiver, to move into another task or use as a [`Stream`](futures_util::Stream).
    pub fn into_receiver(self) -> StreamReceiver<P> {
        self.rx
    }
}

/// Server side of a client-streaming method with a final result.
pub struct ServerRecvResultStream<P, R> {
    rx: StreamReceiver<P>,
    tx: StreamSender<R>,
}

impl<P: Message, R: Message> ServerRecvResultStream<P, R> {
    /// Wraps a server connection. Called by generated code.
    pub fn new(conn: Conn, view: Option<ViewName>) -> Self {
        let (tx, rx) = halves::<P, R>(conn, Side::Server, None, view);
        ServerRecvResultStream { rx, tx }
    }

    delegate_recv!();

    /// Sends the final result, then closes with 1000. Unlike Goa, this is safe to
    /// call before any `recv`.
    pub async fn send_and_close(&mut self, result: &R) -> Result<(), StreamError> {
        self.tx.send(result).await?;
        self.tx.close().await
    }

    /// The view the result is rendered with.
    pub fn view(&self) -> Option<&str> {
        self.tx.view()
    }
}

/// Server side of a bidirectional method.
pub struct BidiServerStream<P, R> {
    rx: StreamReceiver<P>,
    tx: StreamSender<R>,
}

impl<P: Message, R: Message> BidiServerStream<P, R> {
    /// Wraps a server connection. Called by generated code.
    pub fn new(conn: Conn, view: Option<ViewName>) -> Self {
        let (tx, rx) = halves::<P, R>(conn, Side::Server, None, view);
        BidiServerStream { rx, tx }
    }

    delegate_send!();
    delegate_recv!();

    /// Ends the stream with close 1000 after the queued messages.
    pub async fn close(&mut self) -> Result<(), StreamError> {
        self.tx.close().await
    }

    /// The view results are rendered with.
    pub fn view(&self) -> Option<&str> {
        self.tx.view()
    }

    /// A sender and a receiver usable concurrently, from different tasks.
    pub fn split(self) -> (StreamSender<R>, StreamReceiver<P>) {
        (self.tx, self.rx)
    }
}

debug_halves!(ServerStream<R> { tx });
debug_halves!(ServerRecvStream<P> { rx, tx });
debug_halves!(ServerRecvResultStream<P, R> { rx, tx });
debug_halves!(BidiServerStream<P, R> { rx, tx });
