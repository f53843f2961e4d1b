//! The client's handles, one per streaming pattern.

use std::future::Future;

use crate::close::CloseCode;
use crate::conn::{Conn, Side};
use crate::error::StreamError;
use crate::message::Message;
use crate::stream::{halves, StreamReceiver, StreamSender, ViewName};

/// Client side of a server-streaming method. Closing it, or dropping it, leaves
/// with close 1000 `client closing connection`.
pub struct ClientStream<R> {
    tx: StreamSender<()>,
    rx: StreamReceiver<R>,
}

impl<R: Message> ClientStream<R> {
    /// Wraps a client connection. Called by generated code.
    pub fn new(conn: Conn, view: Option<ViewName>) -> Self {
        let (tx, rx) = halves::<R, ()>(conn, Side::Client, view, None);
        ClientStream { tx, rx }
    }

    /// Leaves the stream with close 1000 `client closing connection`; results
    /// already on their way can still be received until the server answers.
    pub async fn close(&mut self) -> Result<(), StreamError> {
        self.tx.leave()
    }

    /// The next result; `Ok(None)` when the server ended the stream (close 1000).
    pub async fn recv(&mut self) -> Result<Option<R>, StreamError> {
        self.rx.recv().await
    }

    /// The view results are validated with (from the `Goa-View` header).
    pub fn view(&self) -> Option<&str> {
        self.rx.view()
    }

    /// Overrides the view results are validated with.
    pub fn set_view(&mut self, view: impl Into<ViewName>) {
        self.rx.set_view(view);
    }

    /// The receiver, to use as a [`Stream`](futures_util::Stream).
    pub fn into_receiver(self) -> StreamReceiver<R> {
        self.rx
    }
}

/// Client side of a client-streaming method without a result.
pub struct ClientSendStream<P> {
    tx: StreamSender<P>,
    rx: StreamReceiver<()>,
    close_timeout: std::time::Duration,
}

impl<P: Message> ClientSendStream<P> {
    /// Wraps a client connection. Called by generated code.
    pub fn new(conn: Conn) -> Self {
        let close_timeout = conn.close_timeout;
        let (tx, rx) = halves::<(), P>(conn, Side::Client, None, None);
        ClientSendStream {
            tx,
            rx,
            close_timeout,
        }
    }

    /// Queues one message; see [`StreamSender::send`].
    pub fn send(&mut self, msg: &P) -> impl Future<Output = Result<(), StreamError>> + Send + '_ {
        self.tx.send(msg)
    }

    /// Ends the stream (JSON `null`) and waits for the server to close: `Ok` on
    /// close 1000, the server's error otherwise. A server that does not close
    /// within the close and write timeouts is an error too.
    pub async fn close(&mut self) -> Result<(), StreamError> {
        // A connection the server already closed refuses the `null`: how the
        // server closed it is the answer.
        let ended = self.tx.close().await;
        if let Err(e) = ended {
            if !matches!(e, StreamError::StreamClosed) {
                return Err(e);
            }
        }
        tokio::time::timeout(self.close_timeout, self.rx.wait_end())
            .await
            .unwrap_or_else(|_| {
                Err(StreamError::lost(
                    "the server did not end the exchange after the client's end of stream",
                ))
            })
    }
}

/// Client side of a client-streaming method with a final result.
pub struct ClientSendResultStream<P, R> {
    tx: StreamSender<P>,
    rx: StreamReceiver<R>,
}

impl<P: Message, R: Message> ClientSendResultStream<P, R> {
    /// Wraps a client connection. Called by generated code.
    pub fn new(conn: Conn, view: Option<ViewName>) -> Self {
        let (tx, rx) = halves::<R, P>(conn, Side::Client, view, None);
        ClientSendResultStream { tx, rx }
    }

    /// Queues one message; see [`StreamSender::send`].
    pub fn send(&mut self, msg: &P) -> impl Future<Output = Result<(), StreamError>> + Send + '_ {
        self.tx.send(msg)
    }

    /// Ends the stream (JSON `null`) and waits for the server's result.
    pub async fn close_and_recv(&mut self) -> Result<R, StreamError> {
        // A server that already ended (it sent its result, then closed)
        // refuses the `null`: its result is still there to read.
        if let Err(e) = self.tx.close().await {
            if !matches!(e, StreamError::StreamClosed) {
                return Err(e);
            }
        }
        match self.rx.recv().await? {
            Some(r) => Ok(r),
            None => Err(StreamError::Closed {
                code: CloseCode::NORMAL,
                reason: "server closed the stream without sending a result".into(),
            }),
        }
    }

    /// Overrides the view the result is validated with.
    pub fn set_view(&mut self, view: impl Into<ViewName>) {
        self.rx.set_view(view);
    }

    /// The view the result is validated with (from the `Goa-View` header).
    pub fn view(&self) -> Option<&str> {
        self.rx.view()
    }
}

/// Client side of a bidirectional method.
pub struct BidiClientStream<P, R> {
    tx: StreamSender<P>,
    rx: StreamReceiver<R>,
}

impl<P: Message, R: Message> BidiClientStream<P, R> {
    /// Wraps a client connection. Called by generated code.
    pub fn new(conn: Conn, view: Option<ViewName>) -> Self {
        let (tx, rx) = halves::<R, P>(conn, Side::Client, view, None);
        BidiClientStream { tx, rx }
    }

    /// Queues one message; see [`StreamSender::send`].
    pub fn send(&mut self, msg: &P) -> impl Future<Output = Result<(), StreamError>> + Send + '_ {
        self.tx.send(msg)
    }

    /// The next result; `Ok(None)` when the server ended the stream.
    pub async fn recv(&mut self) -> Result<Option<R>, StreamError> {
        self.rx.recv().await
    }

    /// Ends the client's stream (JSON `null`). Unlike Goa's client this is a
    /// half-close: results the server still sends can be received until it closes.
    pub async fn close(&mut self) -> Result<(), StreamError> {
        self.tx.close().await
    }

    /// Overrides the view results are validated with.
    pub fn set_view(&mut self, view: impl Into<ViewName>) {
        self.rx.set_view(view);
    }

    /// A sender and a receiver usable concurrently, from different tasks.
    pub fn split(self) -> (StreamSender<P>, StreamReceiver<R>) {
        (self.tx, self.rx)
    }
}

debug_halves!(ClientStream<R> { rx, tx });
debug_halves!(ClientSendStream<P> { tx, rx });
debug_halves!(ClientSendResultStream<P, R> { tx, rx });
debug_halves!(BidiClientStream<P, R> { tx, rx });
