//! Server streams that survive disconnects, on the client side: the stream
//! reconnects, resumes from the last number it returned, and reports its states.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::Stream;
use http::header::SEC_WEBSOCKET_PROTOCOL;
use tokio::sync::watch;

use crate::client::dialer::{Dialer, ViewSource};
use crate::client::request::Request;
use crate::client::retry::{self, ConnectionState, Outage, StateSender};
use crate::conn::{Keepalive, OutboundSender, Priority, RawReceiver};
use crate::error::{ClientError, StreamError};
use crate::message::{to_frame, Message};
use crate::resume::{self, Frame, ResumePoint};
use crate::stream::ViewName;
use crate::ws::{Data, TextBytes};

/// The client side of a resumable server stream: a stream of results that
/// survives disconnects.
///
/// [`ResumableStream`] offers `nagare.v1` when it dials (see [`crate::resume`]).
/// When the server selects it, each result carries its sequence number; the
/// stream checks that they follow each other (1, 2, 3...) and, when the
/// connection drops for a reason a retry can fix, dials again with the last
/// number it returned, so the server replays what was missed. The application
/// sees every message once and in order, or an error that says why not:
///
/// - [`StreamError::TooFarBehind`]: the server no longer has what was missed;
///   re-sync, then subscribe again;
/// - [`StreamError::Gap`]: the numbers skipped; the server broke the protocol;
/// - [`StreamError::Reconnect`]: the reconnect policy gave up, or a reconnection
///   was refused (a 401 after a token expired, say).
///
/// After any of these the stream is over. A stream that *restarted* on the
/// server (its history was lost, so its numbers start again in a new epoch) is
/// not an error: the stream goes on from the oldest message the server keeps,
/// and [`ConnectionState::Restarted`] tells the application that messages
/// after its last position in the old epoch may be lost. [`ResumableBidiStream`] adds a client
/// half (unnumbered, at most once across a drop) to the same receiving side.
/// Reconnecting needs a reconnect policy
/// (`Client::with_reconnect`) and a server that speaks `nagare.v1`; against a
/// plain Goa server the stream works like [`ClientStream`](crate::stream::ClientStream).
///
/// Connection states (connecting, connected, reconnecting with attempt and delay,
/// closed with reason) are published on a `watch` channel, see
/// [`ResumableStream::states`].
///
/// # Example
///
/// ```no_run
/// # async fn example(mut events: nagare::ResumableStream<String>) -> Result<(), nagare::StreamError> {
/// let mut states = events.states();
/// tokio::spawn(async move {
///     while states.changed().await.is_ok() {
///         eprintln!("connection: {:?}", *states.borrow());
///     }
/// });
/// while let Some(event) = events.recv().await? {
///     println!("{event}");
/// }
/// # Ok(()) }
/// ```
pub struct ResumableStream<R> {
    dialer: Dialer,
    request: Request,
    view_source: ViewSource,
    live: Option<Live>,
    /// The epoch of the stream and the last number returned to the application.
    point: Option<ResumePoint>,
    /// The retries of the outage in progress, kept until a connection makes
    /// progress, so that a server that accepts and drops at once is backed off.
    outage: Option<Outage>,
    states: StateSender,
    reconnects: u64,
    restarts: u64,
    /// Set when the stream is over: `Ok` after a clean end, else the error that
    /// ended it, which every later call returns.
    over: Option<Result<(), StreamError>>,
    /// The sending half of a bidirectional stream, if there is one.
    sending: Option<SendingHalf>,
    _type: PhantomData<fn() -> R>,
}

/// What the receiving half shares with the sending half of a bidirectional
/// stream: the connection to write to, and whether the client ended its half.
struct SendingHalf {
    link: watch::Sender<Link>,
    ended: Arc<AtomicBool>,
}

/// The connection the sending half writes to.
#[derive(Clone)]
enum Link {
    /// Reconnecting: sends wait.
    Down,
    Up(OutboundSender),
    /// The stream is over: sends fail.
    Over,
}

/// The connection in use.
struct Live {
    rx: RawReceiver,
    outbound: OutboundSender,
    view: Option<ViewName>,
    /// The server selected `nagare.v1`.
    numbered: bool,
    /// The position frame of this connection was seen.
    positioned: bool,
    /// The designed error the server sent whole before closing: what the
    /// stream ends with, rather than the close reason that follows.
    ended_with: Option<StreamError>,
    _keepalive: Keepalive,
}

impl<R: Message> ResumableStream<R> {
    /// Opens a resumable stream of results without views: dials `request` with
    /// the dialer's retry policy, offering `nagare.v1`; after a drop, reconnects
    /// with its reconnect policy and resumes. Generated clients open theirs for
    /// methods the design marks `resumable`.
    pub async fn connect(dialer: &Dialer, request: Request) -> Result<Self, ClientError> {
        Self::open(dialer.clone(), request, ViewSource::None, None).await
    }

    /// Dials with the dialer's retry policy; `sending` is the other half of a
    /// bidirectional stream.
    async fn open(
        dialer: Dialer,
        request: Request,
        view_source: ViewSource,
        sending: Option<SendingHalf>,
    ) -> Result<Self, ClientError> {
        let states = dialer
            .states()
            .cloned()
            .unwrap_or_else(|| retry::states().0);
        let mut stream = ResumableStream {
            dialer,
            request,
            view_source,
            live: None,
            point: None,
            outage: None,
            states,
            reconnects: 0,
            restarts: 0,
            over: None,
            sending,
            _type: PhantomData,
        };
        let live = retry::retry(stream.dialer.retry_policy(), Some(&stream.states), || {
            stream.dial()
        })
        .await?;
        stream.connected(live);
        Ok(stream)
    }

    /// The connection states, latest first: a fresh receiver sees the current one.
    pub fn states(&self) -> watch::Receiver<ConnectionState> {
        self.states.subscribe()
    }

    /// The stream's epoch and the number of the last message returned, once the
    /// server has numbered the stream.
    pub fn position(&self) -> Option<&ResumePoint> {
        self.point.as_ref()
    }

    /// Whether the server numbers this stream (it speaks `nagare.v1`), so that a
    /// drop can be resumed.
    pub fn is_resumable(&self) -> bool {
        self.live.as_ref().is_none_or(|l| l.numbered)
    }

    /// How many times the stream reconnected.
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// How many times the server's stream restarted (see
    /// [`ConnectionState::Restarted`]).
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// The view results are validated with.
    pub fn view(&self) -> Option<&str> {
        self.live.as_ref().and_then(|l| l.view.as_deref())
    }

    /// Leaves the stream: close 1000 `client closing connection`. Later calls
    /// to [`recv`](Self::recv) return `Ok(None)`; closing twice is not an error.
    pub async fn close(&mut self) -> Result<(), StreamError> {
        // Dropping the connection's last handles makes its driver leave politely.
        self.live = None;
        self.finish(Ok(()), "closed by the client".into());
        Ok(())
    }

    /// The next result; `Ok(None)` when the server ended the stream. Reconnects
    /// (and resumes) as needed when a reconnect policy is set. Cancel safe while
    /// waiting for a message; dropping it during a reconnection abandons that
    /// attempt (the next call starts another).
    pub async fn recv(&mut self) -> Result<Option<R>, StreamError> {
        loop {
            if let Some(over) = &self.over {
                return over.clone().map(|()| None);
            }
            let Some(live) = self.live.as_mut() else {
                self.reconnect().await?;
                continue;
            };
            match std::future::poll_fn(|cx| live.rx.poll_recv(cx)).await {
                Ok(Some(data)) => {
                    if let Some(msg) = self.accept(&data)? {
                        return Ok(Some(msg));
                    }
                }
                Ok(None) => {
                    self.live = None;
                    self.finish(Ok(()), "the server ended the stream".into());
                    return Ok(None);
                }
                Err(e) => {
                    let e = live.ended_with.take().unwrap_or(e);
                    self.lost(e).await?
                }
            }
        }
    }

    /// The stream as a [`Stream`] of results (ends after the first error).
    pub fn into_stream(self) -> impl Stream<Item = Result<R, StreamError>> {
        futures_util::stream::unfold(Some(self), |s| async move {
            let mut s = s?;
            match s.recv().await {
                Ok(Some(m)) => Some((Ok(m), Some(s))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }

    /// Handles one frame; `Ok(None)` for a frame that carries no result.
    fn accept(&mut self, data: &Data) -> Result<Option<R>, StreamError> {
        let Some(live) = self.live.as_mut() else {
            return Ok(None);
        };
        let bytes = data.as_bytes();
        if !live.numbered {
            return R::decode(bytes, live.view.as_deref())
                .map(Some)
                .map_err(StreamError::InvalidMessage);
        }
        let frame = match resume::parse(bytes) {
            Ok(f) => f,
            Err(e) => return Err(self.fail(StreamError::InvalidMessage(e))),
        };
        match frame {
            Frame::Position { epoch, seq } => {
                let first = !live.positioned;
                live.positioned = true;
                let now = ResumePoint { epoch, seq };
                match self.point.take() {
                    None => {
                        self.point = Some(now);
                        self.states.send_replace(ConnectionState::Connected {
                            resumed_after: None,
                        });
                    }
                    Some(p) if p.epoch != now.epoch => self.restarted(p, now),
                    // Mid-stream, a position only ever announces a new epoch.
                    Some(p) if !first || p.seq != now.seq => {
                        let gap = StreamError::Gap {
                            expected: p.seq + 1,
                            got: now.seq + 1,
                        };
                        self.point = Some(p);
                        return Err(self.fail(gap));
                    }
                    Some(p) => {
                        self.states.send_replace(ConnectionState::Connected {
                            resumed_after: Some(p.seq),
                        });
                        self.point = Some(p);
                    }
                }
                // The server knows where this client stands: the outage is over.
                self.outage = None;
                Ok(None)
            }
            Frame::Message { seq, data } => {
                let expected = self.point.as_ref().map(|p| p.seq + 1);
                match (live.positioned, expected) {
                    (true, Some(expected)) if seq == expected => {}
                    (_, expected) => {
                        let gap = StreamError::Gap {
                            expected: expected.unwrap_or(1),
                            got: seq,
                        };
                        return Err(self.fail(gap));
                    }
                }
                let decoded = R::decode(data, live.view.as_deref());
                if let Some(p) = self.point.as_mut() {
                    p.seq = seq;
                }
                decoded.map(Some).map_err(StreamError::InvalidMessage)
            }
            Frame::Error { name, data } => {
                live.ended_with = Some(StreamError::Designed {
                    name,
                    value: Arc::from(data),
                });
                Ok(None)
            }
        }
    }

    /// The server's stream restarted (its history was lost): numbering starts
    /// again at `now`, and what came after `previous` in the old epoch may be
    /// lost. The stream goes on; the application is told through the states.
    fn restarted(&mut self, previous: ResumePoint, now: ResumePoint) {
        tracing::warn!(
            previous = %format_args!("{}.{}", previous.epoch, previous.seq),
            now = %format_args!("{}.{}", now.epoch, now.seq),
            "the stream restarted: messages after the previous position may be lost"
        );
        self.restarts += 1;
        self.point = Some(now.clone());
        self.states
            .send_replace(ConnectionState::Restarted { previous, now });
    }

    /// The connection failed with `e`: reconnect if a retry can help and the
    /// stream can resume, else end the stream with the error.
    async fn lost(&mut self, e: StreamError) -> Result<(), StreamError> {
        let numbered = self.live.take().is_some_and(|l| l.numbered);
        self.set_link(Link::Down);
        if !numbered || self.dialer.reconnect_policy().is_none() || !e.kind().is_retryable() {
            return Err(self.fail(e));
        }
        tracing::info!(error = %e, position = ?self.point, "stream lost: reconnecting");
        let outage = self.outage.get_or_insert_with(|| {
            Outage::after_loss(self.dialer.reconnect_policy(), Some(&self.states))
        });
        match outage.failed(e).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Dials until connected, continuing the outage in progress.
    async fn reconnect(&mut self) -> Result<(), StreamError> {
        loop {
            let request = self.resume_request();
            let outage = self.outage.get_or_insert_with(|| {
                Outage::after_loss(self.dialer.reconnect_policy(), Some(&self.states))
            });
            let dial = dial_live(&self.dialer, request, &self.view_source);
            match outage.run(dial).await {
                Ok(live) => {
                    self.reconnects += 1;
                    self.connected(live);
                    return Ok(());
                }
                Err(e) => {
                    let failed = outage.failed(e).await;
                    if let Err(e) = failed {
                        return Err(self.fail(StreamError::Reconnect(std::sync::Arc::new(e))));
                    }
                }
            }
        }
    }

    /// One dial, from where the stream stands.
    async fn dial(&self) -> Result<Live, ClientError> {
        dial_live(&self.dialer, self.resume_request(), &self.view_source).await
    }

    /// The request offering `nagare.v1` and, once the stream was numbered, the
    /// point to resume from.
    fn resume_request(&self) -> Request {
        let mut request = self.request.clone();
        request.offer_protocol(resume::PROTOCOL);
        if let Some(p) = &self.point {
            request.offer_protocol(p.offer());
        }
        request
    }

    fn connected(&mut self, live: Live) {
        let resumed_after = self.point.as_ref().map(|p| p.seq);
        if !live.numbered {
            tracing::debug!("the server does not speak nagare.v1: the stream cannot resume");
        }
        if let Some(half) = &self.sending {
            // A client half ended before the drop is ended again for the new
            // connection's method.
            if half.ended.load(Ordering::SeqCst) {
                let _ = live.outbound.push_last(end_of_stream());
            }
            half.link.send_replace(Link::Up(live.outbound.clone()));
        }
        // A numbered stream is connected once the server says where it
        // stands (its first frame): from then on nothing published is missed.
        if !live.numbered {
            self.states
                .send_replace(ConnectionState::Connected { resumed_after });
        }
        self.live = Some(live);
    }

    /// Ends the stream with an error, which is returned.
    fn fail(&mut self, e: StreamError) -> StreamError {
        self.live = None;
        let reason = e.to_string();
        self.finish(Err(e.clone()), reason);
        e
    }

    fn set_link(&self, link: Link) {
        if let Some(half) = &self.sending {
            half.link.send_replace(link);
        }
    }

    fn finish(&mut self, outcome: Result<(), StreamError>, reason: String) {
        self.set_link(Link::Over);
        if self.over.is_none() {
            self.over = Some(outcome);
            self.states.send_replace(ConnectionState::Closed { reason });
        }
    }
}

/// Dials once and wraps the connection.
async fn dial_live(
    dialer: &Dialer,
    request: Request,
    view_source: &ViewSource,
) -> Result<Live, ClientError> {
    let (conn, headers) = request.dial(dialer.base_url(), dialer.config()).await?;
    let numbered = headers
        .get(SEC_WEBSOCKET_PROTOCOL)
        .is_some_and(|v| v.as_bytes() == resume::PROTOCOL.as_bytes());
    let keepalive = Keepalive::new(conn.outbound.clone());
    Ok(Live {
        outbound: conn.outbound.clone(),
        rx: RawReceiver::new(conn.inbound),
        view: view_source.view(&headers),
        numbered,
        positioned: false,
        ended_with: None,
        _keepalive: keepalive,
    })
}

fn end_of_stream() -> Data {
    Data::Text(TextBytes::from("null\n"))
}

/// A bidirectional stream whose server half resumes after a drop (as a
/// [`ResumableStream`] does); the client half is Goa's, unnumbered.
///
/// The receiving half drives reconnection: keep receiving (from another task
/// after [`split`](Self::split)) for sends to go on after a drop. A send waits
/// while the stream reconnects. Sends are at most once: a message queued on a
/// connection that then drops is not sent again, because the server may or may
/// not have read it; a message that found its connection closed goes out on the
/// next one. Applications that need every client message delivered acknowledge
/// them in results.
pub struct ResumableBidiStream<P, R> {
    tx: ResumableSender<P>,
    rx: ResumableStream<R>,
}

/// The sending half of a [`ResumableBidiStream`].
pub struct ResumableSender<P> {
    link: watch::Receiver<Link>,
    ended: Arc<AtomicBool>,
    _type: PhantomData<fn(&P)>,
}

impl<P: Message, R: Message> ResumableBidiStream<P, R> {
    /// Opens a bidirectional stream whose results (without views) resume after
    /// a drop; see [`ResumableStream::connect`].
    pub async fn connect(dialer: &Dialer, request: Request) -> Result<Self, ClientError> {
        Self::open(dialer.clone(), request, ViewSource::None).await
    }

    pub(crate) async fn open(
        dialer: Dialer,
        request: Request,
        view_source: ViewSource,
    ) -> Result<Self, ClientError> {
        let (link, watch) = watch::channel(Link::Down);
        let ended = Arc::new(AtomicBool::new(false));
        let half = SendingHalf {
            link,
            ended: ended.clone(),
        };
        let rx = ResumableStream::open(dialer, request, view_source, Some(half)).await?;
        Ok(ResumableBidiStream {
            tx: ResumableSender {
                link: watch,
                ended,
                _type: PhantomData,
            },
            rx,
        })
    }

    /// Queues one message; see [`ResumableSender::send`].
    pub fn send(
        &mut self,
        msg: &P,
    ) -> impl std::future::Future<Output = Result<(), StreamError>> + Send + '_ {
        self.tx.send(msg)
    }

    /// The next result; see [`ResumableStream::recv`].
    pub async fn recv(&mut self) -> Result<Option<R>, StreamError> {
        self.rx.recv().await
    }

    /// Ends the client's half (JSON `null`); results keep coming until the
    /// server ends the stream.
    pub async fn close(&mut self) -> Result<(), StreamError> {
        self.tx.close().await
    }

    /// The connection states; see [`ResumableStream::states`].
    pub fn states(&self) -> watch::Receiver<ConnectionState> {
        self.rx.states()
    }

    /// How many times the stream reconnected.
    pub fn reconnects(&self) -> u64 {
        self.rx.reconnects()
    }

    /// Where the server half stands; see [`ResumableStream::position`].
    pub fn position(&self) -> Option<&ResumePoint> {
        self.rx.position()
    }

    /// The halves, to send and receive from different tasks.
    pub fn split(self) -> (ResumableSender<P>, ResumableStream<R>) {
        (self.tx, self.rx)
    }
}

impl<P: Message> ResumableSender<P> {
    /// Queues one message on the current connection, waiting for one while the
    /// stream reconnects; fails once the stream is over. Cancel safe: a dropped
    /// send queued its message whole or not at all.
    ///
    /// The message is encoded before this returns, so the future borrows only the
    /// sender (`P` need not be `Sync` to send from a spawned task).
    pub fn send(
        &mut self,
        msg: &P,
    ) -> impl std::future::Future<Output = Result<(), StreamError>> + Send + '_ {
        let frame = if self.ended.load(Ordering::SeqCst) {
            Err(StreamError::StreamClosed)
        } else {
            to_frame(msg, None).map_err(StreamError::from)
        };
        async move { self.send_frame(frame?).await }
    }

    async fn send_frame(&mut self, frame: Data) -> Result<(), StreamError> {
        loop {
            let tx = self.connection().await?;
            let ready = std::future::poll_fn(|cx| tx.poll_ready(cx)).await;
            if ready.is_ok() && tx.push(frame.clone(), Priority::Normal).is_ok() {
                return Ok(());
            }
            // That connection is gone and the message was not queued: wait for
            // the next one.
            drop(tx);
            self.link
                .changed()
                .await
                .map_err(|_| StreamError::StreamClosed)?;
        }
    }

    /// Ends the client's half with the JSON `null`, on this connection and on
    /// any the stream reconnects with.
    pub async fn close(&mut self) -> Result<(), StreamError> {
        if self.ended.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        match &*self.link.borrow_and_update() {
            Link::Up(tx) => {
                // Refused means the connection is gone: the next one gets it.
                let _ = tx.push_last(end_of_stream());
                Ok(())
            }
            Link::Down => Ok(()),
            Link::Over => Err(StreamError::StreamClosed),
        }
    }

    /// The connection to write to, waiting while the stream reconnects.
    async fn connection(&mut self) -> Result<OutboundSender, StreamError> {
        loop {
            match &*self.link.borrow_and_update() {
                Link::Up(tx) => return Ok(tx.clone()),
                Link::Over => return Err(StreamError::StreamClosed),
                Link::Down => {}
            }
            self.link
                .changed()
                .await
                .map_err(|_| StreamError::StreamClosed)?;
        }
    }
}

/// Opens a resumable server stream with the dialer's policies (generated
/// clients call it for methods the design marks `resumable`).
pub async fn open_resumable<R: Message>(
    dialer: &Dialer,
    request: Request,
    view: ViewSource,
) -> Result<ResumableStream<R>, ClientError> {
    ResumableStream::open(dialer.clone(), request, view, None).await
}

/// Opens a bidirectional stream whose server half resumes, with the dialer's
/// policies (generated clients call it).
pub async fn open_resumable_bidi<P: Message, R: Message>(
    dialer: &Dialer,
    request: Request,
    view: ViewSource,
) -> Result<ResumableBidiStream<P, R>, ClientError> {
    ResumableBidiStream::open(dialer.clone(), request, view).await
}

impl<R> std::fmt::Debug for ResumableStream<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResumableStream")
            .field("position", &self.point)
            .field("connected", &self.live.is_some())
            .field("reconnects", &self.reconnects)
            .field("over", &self.over)
            .finish_non_exhaustive()
    }
}

impl<P> std::fmt::Debug for ResumableSender<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResumableSender")
            .field("ended", &self.ended.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<P, R> std::fmt::Debug for ResumableBidiStream<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResumableBidiStream")
            .field("tx", &self.tx)
            .field("rx", &self.rx)
            .finish()
    }
}
