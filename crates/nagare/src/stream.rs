//! Typed stream handles, one per streaming pattern and side, with the semantics of
//! Goa's generated Go interfaces.
//!
//! | pattern | server handle | client handle |
//! |---|---|---|
//! | server streaming | [`ServerStream`]: `send`, `close` | [`ClientStream`]: `recv` |
//! | client streaming | [`ServerRecvStream`]: `recv`, `close` | [`ClientSendStream`]: `send`, `close` |
//! | client streaming with result | [`ServerRecvResultStream`]: `recv`, `send_and_close` | [`ClientSendResultStream`]: `send`, `close_and_recv` |
//! | bidirectional | [`BidiServerStream`]: `send`, `recv`, `close`, `split` | [`BidiClientStream`]: `send`, `recv`, `close`, `split` |
//!
//! `recv` returns `Ok(None)` at the peer's end of stream (the client's JSON `null`,
//! or the server's close 1000) and an error when the connection fails. Sends are
//! queued (bounded by `ConnConfig::outbound_queue`) and written in batches; a
//! send fails with [`StreamError::StreamClosed`] once the connection is gone.
//! Bidirectional streams [`split`](BidiServerStream::split) into a [`StreamSender`]
//! and a [`StreamReceiver`] that can move to different tasks; receivers are
//! [`futures_util::Stream`]s and senders are [`futures_util::Sink`]s.
//!
//! # Example
//!
//! ```no_run
//! # async fn example(stream: nagare::BidiServerStream<String, String>) -> Result<(), nagare::StreamError> {
//! let (mut tx, mut rx) = stream.split();
//! while let Some(msg) = rx.recv().await? {
//!     tx.send(&msg).await?;
//! }
//! # Ok(()) }
//! ```

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_util::{Sink, Stream};
use tokio_util::sync::CancellationToken;

use crate::close::{CloseCode, SERVER_CLOSING};
use crate::conn::{Conn, Keepalive, RawReceiver, Side};
use crate::error::StreamError;
use crate::message::{is_end_of_stream, to_frame, Message};
use crate::outbound::{OutboundSender, Priority};
use crate::replay::ReplayLog;
use crate::resume::Sequencer;
use crate::ws::{CloseFrame, Data, TextBytes};

/// The name of a result view (`default`, `tiny`...), shared cheaply.
pub type ViewName = Arc<str>;

/// Sends typed messages on a connection.
pub struct StreamSender<T> {
    tx: OutboundSender,
    side: Side,
    closed: bool,
    view: Option<ViewName>,
    gone: CancellationToken,
    /// Numbering of a server stream whose client speaks `nagare.v1`.
    seq: Option<Box<Sequencer>>,
    _keepalive: Keepalive,
    _type: PhantomData<fn(&T)>,
}

impl<T: Message> StreamSender<T> {
    fn new(
        conn: &Conn,
        side: Side,
        view: Option<ViewName>,
        seq: Option<Box<Sequencer>>,
        keepalive: Keepalive,
    ) -> Self {
        StreamSender {
            tx: conn.outbound.clone(),
            side,
            closed: false,
            view,
            gone: conn.gone.clone(),
            seq,
            _keepalive: keepalive,
            _type: PhantomData,
        }
    }

    /// Queues one message at normal priority; when the outbound queue is full,
    /// does what `ConnConfig::slow_consumer` says (wait, drop the oldest queued
    /// message, or disconnect the peer).
    ///
    /// The message is encoded before this returns, so the future borrows only the
    /// sender (`T` need not be `Sync` to send from a spawned task). Cancel safe: if
    /// the future is dropped, the message was either queued whole or not at all.
    pub fn send(&mut self, msg: &T) -> impl Future<Output = Result<(), StreamError>> + Send + '_ {
        self.send_with_priority(msg, Priority::Normal)
    }

    /// Queues one message with a priority: it overtakes queued messages of lower
    /// priority and keeps its order among messages of its own (see
    /// [`crate::outbound`] for the anti-starvation rule). On a `nagare.v1`
    /// connection messages are numbered, so they keep their order and the
    /// priority is ignored.
    pub fn send_with_priority(
        &mut self,
        msg: &T,
        priority: Priority,
    ) -> impl Future<Output = Result<(), StreamError>> + Send + '_ {
        let frame = if self.closed {
            Err(StreamError::StreamClosed)
        } else {
            self.encode(msg)
        };
        async move {
            let frame = frame?;
            std::future::poll_fn(|cx| self.poll_reserve(cx)).await?;
            self.push_encoded(frame, priority)
        }
    }

    /// The frame for `msg`: plain, or in its envelope with the number it will get
    /// (numbers are only used up when a frame is queued, so a cancelled send
    /// leaves no gap).
    fn encode(&self, msg: &T) -> Result<Data, StreamError> {
        let view = self.view.as_deref();
        match &self.seq {
            Some(sq) => crate::resume::data_frame(sq.next, msg, view),
            None => to_frame(msg, view),
        }
        .map_err(|e| StreamError::Encode(e.to_string()))
    }

    /// The frame for a replay log's entry: without a view, the entry's shared
    /// plain frame (wrapped in an envelope on a `nagare.v1` connection) rather
    /// than an encoding of its own.
    fn encode_entry(&self, entry: &crate::replay::Entry<T>) -> Result<Data, StreamError> {
        let shared = match self.view {
            None => entry.plain_frame(),
            Some(_) => None,
        };
        let Some(plain) = shared else {
            return self.encode(&entry.msg);
        };
        match &self.seq {
            Some(sq) => crate::resume::wrap_frame(sq.next, plain)
                .map_err(|e| StreamError::Encode(e.to_string())),
            None => Ok(Data::Text(plain.clone())),
        }
    }

    /// Queues an encoded frame; on a `nagare.v1` connection, after the position
    /// frame if this is the first.
    fn push_encoded(&mut self, frame: Data, priority: Priority) -> Result<(), StreamError> {
        let Some(sq) = self.seq.as_deref_mut() else {
            return self
                .tx
                .push(frame, priority)
                .map_err(|_| StreamError::StreamClosed);
        };
        if !sq.started {
            // Numbers made up by this connection mean nothing to a later one.
            if let Some(p) = &sq.offered {
                return Err(StreamError::TooFarBehind(format!(
                    "this stream keeps no replay log, so it cannot resume after {}",
                    p.seq
                )));
            }
            let epoch = crate::resume::new_epoch();
            self.tx
                .push(crate::resume::position_frame(&epoch, 0), Priority::Normal)
                .map_err(|_| StreamError::StreamClosed)?;
            sq.started = true;
        }
        self.tx
            .push(frame, Priority::Normal)
            .map_err(|_| StreamError::StreamClosed)?;
        sq.next += 1;
        Ok(())
    }

    /// Sends the messages of a replay log: first what the client missed (when it
    /// resumes from a point the log still keeps), then every message published,
    /// until the client leaves (`Ok`) or the log is closed (`Ok`, and returning
    /// ends the stream with 1000).
    ///
    /// On a `nagare.v1` connection each message carries its number in the log;
    /// a client whose resume point the log cannot serve, or that falls so far
    /// behind that the log overtakes it, gets [`StreamError::TooFarBehind`]
    /// (close 4010 when the method returns it). Plain Goa clients get the
    /// messages published from now on, unnumbered. Call it before any `send`.
    pub async fn follow(&mut self, log: &ReplayLog<T>) -> Result<(), StreamError>
    where
        T: Sync,
    {
        let mut cursor = {
            // Taken, not cloned: nothing after the start needs the offer.
            let from = match self.seq.as_deref_mut() {
                Some(sq) if sq.started => {
                    return Err(StreamError::Encode(
                        "follow() must come before any send() on a resumable stream".into(),
                    ))
                }
                Some(sq) => sq.offered.take(),
                None => None,
            };
            log.cursor(from.as_ref())?
        };
        if self.seq.is_some() {
            std::future::poll_fn(|cx| self.poll_reserve(cx)).await?;
            let position = cursor.position();
            self.tx
                .push(
                    crate::resume::position_frame(cursor.epoch(), position),
                    Priority::Normal,
                )
                .map_err(|_| StreamError::StreamClosed)?;
            if let Some(sq) = self.seq.as_deref_mut() {
                sq.started = true;
                sq.next = position + 1;
            }
        }
        // One poll function rather than a `select!` of futures: an idle follower
        // (most of them) then holds only its cursor and the frame it is about to
        // queue, and waits as one waker in the log and one in the queue.
        let mut pending: Option<Data> = None;
        std::future::poll_fn(|cx| loop {
            if let Some(frame) = pending.take() {
                match self.poll_reserve(cx) {
                    Poll::Ready(Ok(())) => {
                        if self.push_encoded(frame, Priority::Normal).is_err() {
                            // Closing: the client is leaving.
                            return Poll::Ready(Ok(()));
                        }
                    }
                    Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                    Poll::Pending => {
                        pending = Some(frame);
                        return Poll::Pending;
                    }
                }
            }
            match cursor.poll_entry(cx) {
                Poll::Ready(Ok(Some((_, entry)))) => pending = Some(self.encode_entry(&entry)?),
                Poll::Ready(Ok(None)) => return Poll::Ready(Ok(())),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                // Nothing to send: wait for a message, or for the client to
                // leave (woken when the driver ends).
                Poll::Pending => {
                    return match self.tx.poll_closed(cx) {
                        Poll::Ready(()) => Poll::Ready(Ok(())),
                        Poll::Pending => Poll::Pending,
                    }
                }
            }
        })
        .await
    }

    /// The view messages are rendered with (`None` for types without views).
    pub fn view(&self) -> Option<&str> {
        self.view.as_deref()
    }

    /// Ends this side's stream. On the server: close frame 1000 `server closing
    /// connection` after the queued messages. On the client: the JSON `null`
    /// that ends the client stream, after every queued message (the server may
    /// still send). Closing twice is not an error.
    pub async fn close(&mut self) -> Result<(), StreamError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), StreamError> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let queued = match self.side {
            Side::Server => self
                .tx
                .close(CloseFrame::new(CloseCode::NORMAL, SERVER_CLOSING)),
            Side::Client => self.tx.push_last(Data::Text(TextBytes::from("null\n"))),
        };
        queued.map_err(|_| StreamError::StreamClosed)
    }

    /// Resolves when the connection is gone (peer left, failure, or closed).
    /// Server methods waiting on outside events select on it to stop early.
    pub fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        self.gone.clone().cancelled_owned()
    }

    /// Whether the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.gone.is_cancelled()
    }

    /// Messages queued and not yet written.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }

    /// The most messages ever queued at once on this connection.
    pub fn queue_high_water(&self) -> usize {
        self.tx.high_water()
    }

    /// Messages dropped because the queue was full (`SlowConsumer::DropOldest`).
    pub fn dropped(&self) -> u64 {
        self.tx.dropped()
    }

    fn poll_reserve(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        if self.closed {
            return Poll::Ready(Err(StreamError::StreamClosed));
        }
        self.tx
            .poll_ready(cx)
            .map_err(|_| StreamError::StreamClosed)
    }

    fn start_send_inner(&mut self, msg: &T) -> Result<(), StreamError> {
        let frame = self.encode(msg)?;
        self.push_encoded(frame, Priority::Normal)
    }
}

impl<T: Message> Sink<T> for StreamSender<T> {
    type Error = StreamError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        self.get_mut().poll_reserve(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), StreamError> {
        self.get_mut().start_send_inner(&item)
    }

    /// Queued messages are the driver's to write; there is nothing to flush here.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        Poll::Ready(self.get_mut().finish())
    }
}

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
    fn new(conn: Conn, side: Side, view: Option<ViewName>, keepalive: Keepalive) -> Self {
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

impl<T: Message> Stream for StreamReceiver<T> {
    type Item = Result<T, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx).map(Result::transpose)
    }
}

/// Splits a connection into typed halves.
fn halves<P: Message, R: Message>(
    mut conn: Conn,
    side: Side,
    recv_view: Option<ViewName>,
    send_view: Option<ViewName>,
) -> (StreamSender<R>, StreamReceiver<P>) {
    let keepalive = Keepalive::new(conn.outbound.clone());
    let seq = conn.sequencer.take();
    let tx = StreamSender::new(&conn, side, send_view, seq, keepalive.clone());
    let rx = StreamReceiver::new(conn, side, recv_view, keepalive);
    (tx, rx)
}

macro_rules! delegate_send {
    () => {
        /// Queues one message; see [`StreamSender::send`].
        pub fn send(
            &mut self,
            msg: &R,
        ) -> impl Future<Output = Result<(), StreamError>> + Send + '_ {
            self.tx.send(msg)
        }

        /// Queues one message with a priority; see [`StreamSender::send_with_priority`].
        pub fn send_with_priority(
            &mut self,
            msg: &R,
            priority: Priority,
        ) -> impl Future<Output = Result<(), StreamError>> + Send + '_ {
            self.tx.send_with_priority(msg, priority)
        }

        /// Messages queued and not yet written; see [`StreamSender::queued`].
        pub fn queued(&self) -> usize {
            self.tx.queued()
        }
    };
}

macro_rules! delegate_recv {
    () => {
        /// The next message, `Ok(None)` at the peer's end of stream; see
        /// [`StreamReceiver::recv`].
        pub async fn recv(&mut self) -> Result<Option<P>, StreamError> {
            self.rx.recv().await
        }
    };
}

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

    /// Streams a replay log to the client, resuming where it stopped; see
    /// [`StreamSender::follow`].
    pub async fn follow(&mut self, log: &ReplayLog<R>) -> Result<(), StreamError>
    where
        R: Sync,
    {
        self.tx.follow(log).await
    }

    /// Resolves when the client is gone; see [`StreamSender::closed`].
    pub fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        self.tx.closed()
    }

    /// The sender, to move into another task or use as a [`Sink`].
    pub fn into_sender(self) -> StreamSender<R> {
        self.tx
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

    /// The receiver, to move into another task or use as a [`Stream`].
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

/// Client side of a server-streaming method. Dropping it leaves with close 1000
/// `client closing connection`.
pub struct ClientStream<R> {
    rx: StreamReceiver<R>,
}

impl<R: Message> ClientStream<R> {
    /// Wraps a client connection. Called by generated code.
    pub fn new(conn: Conn, view: Option<ViewName>) -> Self {
        let (_tx, rx) = halves::<R, ()>(conn, Side::Client, view, None);
        ClientStream { rx }
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

    /// The receiver, to use as a [`Stream`].
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
    pub async fn close(mut self) -> Result<(), StreamError> {
        self.tx.close().await?;
        let wait = async {
            loop {
                match self.rx.raw.poll_next_end().await {
                    Ok(true) => return Ok(()),
                    Ok(false) => continue,
                    Err(e) => return Err(e),
                }
            }
        };
        tokio::time::timeout(self.close_timeout, wait)
            .await
            .unwrap_or_else(|_| {
                Err(StreamError::ConnectionLost(
                    "the server did not end the exchange after the client's end of stream".into(),
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
    pub async fn close_and_recv(mut self) -> Result<R, StreamError> {
        self.tx.close().await?;
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
        std::future::poll_fn(|cx| self.tx.poll_ready(cx))
            .await
            .map_err(|_| StreamError::StreamClosed)?;
        self.tx
            .push(data, Priority::Normal)
            .map_err(|_| StreamError::StreamClosed)
    }
}

impl crate::message::Validate for () {
    fn validate(&self) -> Result<(), crate::error::ValidationError> {
        Ok(())
    }
}

/// The unit type stands for "no messages in this direction".
impl Message for () {
    fn encode(&self, _view: Option<&str>, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.extend_from_slice(b"{}");
        Ok(())
    }
    fn decode(_bytes: &[u8], _view: Option<&str>) -> Result<Self, crate::error::DecodeError> {
        Ok(())
    }
}
