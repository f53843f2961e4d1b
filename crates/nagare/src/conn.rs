//! One WebSocket connection: a driver future that owns the socket, and the bounded
//! queues through which stream handles talk to it.
//!
//! ```text
//!  handles ──outbound (bounded)──▶ driver ──▶ socket
//!  handles ◀──inbound (bounded)─── driver ◀── socket
//! ```
//!
//! The driver reads continuously (so pings are answered and close frames echoed
//! while the application is busy elsewhere) as long as the inbound queue has room,
//! and writes every message that is queued before flushing once, so a burst of
//! sends costs one syscall. On the server the driver runs in the same task as the
//! service method, so a message costs no task switch, only a queue push.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_channel::mpsc;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::close::CloseCode;
use crate::error::StreamError;
use crate::manager::ConnStats;
use crate::outbound::{Outbound, OutboundReceiver, OutboundSender, SlowConsumer};
use crate::ws::{
    CloseFrame, Data, Received, Socket, SocketReader, SocketWriter, WsConfig, WsError,
};
use std::sync::atomic::Ordering;

/// Settings of each connection of an endpoint.
#[derive(Clone, Debug)]
pub struct ConnConfig {
    /// Frame and buffer limits of the WebSocket itself.
    pub ws: WsConfig,
    /// Messages received but not yet taken by the service. When full, the driver
    /// stops reading and TCP pushes back on the peer. Queue slots are allocated
    /// per queued message and freed when it is taken, so an idle connection pays
    /// nothing for its queues whatever their bounds.
    pub inbound_queue: usize,
    /// Messages sent but not yet written. When full, `slow_consumer` decides.
    pub outbound_queue: usize,
    /// What a send does when the outbound queue is full: wait (backpressure),
    /// drop the oldest message, or disconnect the peer.
    pub slow_consumer: SlowConsumer,
    /// How long to wait for the peer's close frame after sending ours.
    pub close_timeout: Duration,
    /// How long a service method may keep running after its connection is gone,
    /// to finish what it was doing with messages already received, before it is
    /// cancelled (dropped at its next `.await`).
    pub cancel_grace: Duration,
    /// Send a ping after this long without hearing from the peer; `None` turns
    /// heartbeats off. Each ping is a few bytes; a shorter interval finds dead
    /// peers sooner and keeps NAT mappings and proxies from timing out.
    pub ping_interval: Option<Duration>,
    /// A peer that sends nothing (not even a pong) this long after a ping is dead:
    /// the connection is closed (1001) and cleaned up. A dead peer is found at most
    /// `ping_interval + pong_timeout` after it last spoke.
    pub pong_timeout: Duration,
    /// Close (1001 `idle timeout`) after this long without a data message in either
    /// direction; `None` keeps idle connections open.
    pub idle_timeout: Option<Duration>,
    /// Browser origins allowed to open a connection; refused ones get 403 before
    /// the upgrade.
    pub origins: crate::origin::OriginPolicy,
    /// Subprotocols the endpoint speaks, in preference order; the first one the
    /// client offers is selected. Goa's clients offer none.
    pub subprotocols: Vec<String>,
    /// Refuse (400) clients that offer none of `subprotocols`.
    pub require_subprotocol: bool,
    /// permessage-deflate for clients that offer it (feature `compression`);
    /// `None` never compresses.
    #[cfg(feature = "compression")]
    pub compression: Option<crate::ws::Compression>,
    /// Roots a client trusts for `wss://` and `https://` (feature `tls`); `None`
    /// trusts the system's roots.
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// Longest wait for a batch of writes to reach the socket. A peer that does not
    /// read past this is disconnected, so it cannot pin memory or a task.
    pub write_timeout: Duration,
    /// Longest a client waits to open a connection: TCP connect, TLS and the
    /// upgrade together. A server that does not answer in time is unreachable (a
    /// temporary error, so a retry policy tries again).
    pub connect_timeout: Duration,
}

impl ConnConfig {
    /// Accepts permessage-deflate from clients that offer it, at zlib `level`
    /// (0-9), sending messages under `threshold` bytes uncompressed. Generated code
    /// calls it for a design's `ws` compression setting; without nagare's
    /// `compression` feature it only logs, once, that compression stays off.
    pub fn enable_compression(&mut self, level: u32, threshold: usize) {
        #[cfg(feature = "compression")]
        {
            self.compression = Some(crate::ws::Compression { level, threshold });
        }
        #[cfg(not(feature = "compression"))]
        {
            static WARNED: std::sync::atomic::AtomicBool =
                std::sync::atomic::AtomicBool::new(false);
            if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tracing::warn!(
                    level,
                    threshold,
                    "compression requested, but nagare's `compression` feature is off"
                );
            }
        }
    }
}

impl Default for ConnConfig {
    fn default() -> Self {
        ConnConfig {
            ws: WsConfig::default(),
            inbound_queue: 16,
            outbound_queue: 64,
            slow_consumer: SlowConsumer::Wait,
            close_timeout: Duration::from_secs(2),
            cancel_grace: Duration::from_secs(5),
            ping_interval: Some(Duration::from_secs(30)),
            pong_timeout: Duration::from_secs(10),
            idle_timeout: None,
            write_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            origins: crate::origin::OriginPolicy::default(),
            subprotocols: Vec::new(),
            require_subprotocol: false,
            #[cfg(feature = "compression")]
            compression: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

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
    /// The connection failed.
    Failed(String),
}

impl End {
    /// The error a receiver reports for this end, or `None` for a clean end (close
    /// 1000, or a close without code).
    pub(crate) fn error(&self) -> Option<StreamError> {
        match self {
            End::PeerClosed(None) => None,
            End::PeerClosed(Some(f)) if f.code == CloseCode::NORMAL => None,
            End::PeerClosed(Some(f)) => Some(StreamError::from_close(f)),
            End::Failed(e) => Some(StreamError::ConnectionLost(e.clone())),
        }
    }
}

/// The handle side of a connection, before typed streams are made from it.
pub struct Conn {
    pub(crate) inbound: mpsc::Receiver<Inbound>,
    pub(crate) outbound: OutboundSender,
    /// Cancelled when the driver ends: the connection is gone.
    pub(crate) gone: CancellationToken,
    /// How long a client waits for the server to finish after its own end.
    pub(crate) close_timeout: Duration,
    /// Set on a server connection that selected `nagare.v1`.
    pub(crate) sequencer: Option<Box<crate::resume::Sequencer>>,
}

/// Which side of the connection this process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// Creates the handles and the driver of a connection. The driver must be polled
/// for the handles to make progress; it ends when the connection is closed.
pub(crate) fn open<S>(
    socket: Socket<S>,
    config: &ConnConfig,
    side: Side,
    stats: Arc<ConnStats>,
) -> (Conn, impl std::future::Future<Output = ()> + Send)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // A futures channel holds `buffer + senders` messages; each holder of a
    // sender may add one more.
    let (in_tx, in_rx) = mpsc::channel(config.inbound_queue.saturating_sub(1));
    let (out_tx, out_rx) = crate::outbound::queue(config.outbound_queue, config.slow_consumer);
    let gone = CancellationToken::new();
    let (reader, writer) = socket.split();
    let driver = Driver {
        reader,
        writer,
        inbound: in_tx,
        outbound: out_rx,
        timing: Timing::of(config),
        side,
        stats,
        started: Instant::now(),
        traffic: Traffic::get(),
    };
    let guard = gone.clone().drop_guard();
    let fut = async move {
        driver.run().await;
        drop(guard);
    };
    (
        Conn {
            inbound: in_rx,
            outbound: out_tx,
            gone,
            close_timeout: config.close_timeout + config.write_timeout,
            sequencer: None,
        },
        fut,
    )
}

struct Driver<S> {
    reader: SocketReader<S>,
    writer: SocketWriter<S>,
    inbound: mpsc::Sender<Inbound>,
    outbound: OutboundReceiver,
    timing: Timing,
    side: Side,
    stats: Arc<ConnStats>,
    started: Instant,
    traffic: &'static Traffic,
}

/// Process-wide traffic metrics, resolved once (at the first connection) so that
/// counting a message is an atomic add, not a registry lookup. The metrics
/// recorder must be installed before the first connection, as binaries do at
/// start-up.
struct Traffic {
    /// Messages waiting in the outbound queue when a batch starts.
    queue_depth: metrics::Histogram,
    messages_in: metrics::Counter,
    messages_out: metrics::Counter,
    bytes_in: metrics::Counter,
    bytes_out: metrics::Counter,
}

impl Traffic {
    fn get() -> &'static Traffic {
        static TRAFFIC: std::sync::OnceLock<Traffic> = std::sync::OnceLock::new();
        TRAFFIC.get_or_init(Traffic::new)
    }

    fn new() -> Self {
        Traffic {
            queue_depth: metrics::histogram!("nagare_send_queue_depth"),
            messages_in: metrics::counter!("nagare_messages_total", "direction" => "in"),
            messages_out: metrics::counter!("nagare_messages_total", "direction" => "out"),
            bytes_in: metrics::counter!("nagare_bytes_total", "direction" => "in"),
            bytes_out: metrics::counter!("nagare_bytes_total", "direction" => "out"),
        }
    }
}

/// The durations the driver needs, apart from the rest of the configuration so
/// that each connection's task carries only these: whole milliseconds in 32 bits
/// (rounded up, at most 49 days), 20 bytes instead of 80 for every connection.
#[derive(Clone, Copy)]
struct Timing {
    /// 0: heartbeats off.
    ping_interval_ms: u32,
    pong_timeout_ms: u32,
    /// 0: no idle timeout.
    idle_timeout_ms: u32,
    write_timeout_ms: u32,
    close_timeout_ms: u32,
}

/// Milliseconds, rounded up so that a non-zero duration stays non-zero.
fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_micros().div_ceil(1000)).unwrap_or(u32::MAX)
}

fn duration(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms))
}

impl Timing {
    fn of(c: &ConnConfig) -> Self {
        Timing {
            ping_interval_ms: c.ping_interval.map_or(0, |d| millis(d).max(1)),
            pong_timeout_ms: millis(c.pong_timeout),
            idle_timeout_ms: c.idle_timeout.map_or(0, |d| millis(d).max(1)),
            write_timeout_ms: millis(c.write_timeout),
            close_timeout_ms: millis(c.close_timeout),
        }
    }

    fn ping_interval(&self) -> Option<Duration> {
        (self.ping_interval_ms > 0).then(|| duration(self.ping_interval_ms))
    }

    fn pong_timeout(&self) -> Duration {
        duration(self.pong_timeout_ms)
    }

    fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_timeout_ms > 0).then(|| duration(self.idle_timeout_ms))
    }

    fn write_timeout(&self) -> Duration {
        duration(self.write_timeout_ms)
    }

    fn close_timeout(&self) -> Duration {
        duration(self.close_timeout_ms)
    }
}

/// The liveness clocks of a connection.
struct Clocks {
    /// Last time anything arrived from the peer.
    heard: Instant,
    /// When the outstanding ping was sent, if one is.
    pinged: Option<Instant>,
    /// Last data message in either direction.
    data: Instant,
}

/// What a liveness timer asks for.
enum Due {
    Ping,
    Dead,
    Idle,
}

impl Clocks {
    /// The next liveness event and when it is due.
    fn next(&self, config: &Timing) -> Option<(Instant, Due)> {
        let mut next: Option<(Instant, Due)> = None;
        let mut consider = |at: Instant, due: Due| {
            if next.as_ref().is_none_or(|(t, _)| at < *t) {
                next = Some((at, due));
            }
        };
        if let Some(interval) = config.ping_interval() {
            match self.pinged {
                Some(sent) => consider(sent + config.pong_timeout(), Due::Dead),
                None => consider(self.heard + interval, Due::Ping),
            }
        }
        if let Some(idle) = config.idle_timeout() {
            consider(self.data + idle, Due::Idle);
        }
        next
    }
}

/// Result of one read step.
enum ReadStep {
    /// A data message of this many bytes arrived.
    Continue(usize),
    /// A control frame arrived.
    Heard,
    PeerClosed,
    Failed(WsError),
    Eof,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Driver<S> {
    async fn run(mut self) {
        let mut reading = true;
        let mut writing = true;
        // Set once we sent our close frame or received the peer's (the time by
        // which the closing handshake must be over), or when the peer broke the
        // protocol (the time by which the handles must have finished with what
        // arrived before the violation).
        let mut deadline: Option<Instant> = None;
        // The close frame owed to a peer that broke the protocol. It replaces the
        // one the handles ask for, so the peer learns what it did wrong.
        let mut violation: Option<CloseFrame> = None;
        let mut end_delivered = false;
        // A slot is reserved in the inbound queue before each read, so what is read
        // always has room; while the service leaves the queue full, nothing is read
        // (TCP pushes back) and the peer cannot be judged dead.
        let mut room = false;
        // Nobody receives (a server stream, or a dropped receiver): keep reading
        // for control frames and drop data.
        let mut discard = false;
        let now = Instant::now();
        let mut clocks = Clocks {
            heard: now,
            pinged: None,
            data: now,
        };
        // One timer for every deadline, re-armed only when a deadline comes
        // earlier than the armed one: when it fires early, the loop recomputes.
        // Creating a timer per message would cost a timer-wheel insertion each.
        let timer = tokio::time::sleep_until(now);
        tokio::pin!(timer);
        let mut armed: Option<Instant> = None;
        loop {
            // Liveness timers run only while the connection is open both ways.
            let liveness = if writing && reading && room {
                clocks.next(&self.timing)
            } else {
                None
            };
            let wake = match (liveness.as_ref().map(|(t, _)| *t), deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let Some(w) = wake {
                if armed.is_none_or(|a| w < a) {
                    timer.as_mut().reset(w);
                    armed = Some(w);
                }
            }
            tokio::select! {
                biased;
                () = &mut timer, if armed.is_some() => {
                    armed = None;
                    let now = Instant::now();
                    if deadline.is_some_and(|d| d <= now) {
                        if let (Some(frame), true) = (violation.take(), writing) {
                            let _ = self.writer.close(&frame).await;
                        }
                        break;
                    }
                    let Some((at, due)) = liveness else { continue };
                    if at > now {
                        // Fired for an older, earlier deadline.
                        continue;
                    }
                    match due {
                        Due::Ping => {
                            clocks.pinged = Some(Instant::now());
                            let ping = self.writer.ping(bytes::Bytes::from_static(b"nagare"));
                            if !matches!(tokio::time::timeout(self.timing.write_timeout(), ping).await, Ok(Ok(()))) {
                                self.deliver_end(&mut end_delivered, End::Failed("ping could not be written".into()));
                                break;
                            }
                        }
                        Due::Dead => {
                            tracing::info!(timeout = ?self.timing.pong_timeout(), "peer did not answer a ping: closing");
                            metrics::counter!("nagare_connections_dead_total").increment(1);
                            let frame = CloseFrame::new(CloseCode::GOING_AWAY, "ping timeout");
                            let _ = tokio::time::timeout(self.timing.close_timeout(), self.writer.close(&frame)).await;
                            self.deliver_end(&mut end_delivered, End::Failed("the peer stopped answering pings".into()));
                            break;
                        }
                        Due::Idle => {
                            let frame = CloseFrame::new(CloseCode::GOING_AWAY, "idle timeout");
                            if !matches!(tokio::time::timeout(self.timing.write_timeout(), self.writer.close(&frame)).await, Ok(Ok(()))) {
                                break;
                            }
                            self.deliver_end(&mut end_delivered, End::PeerClosed(Some(frame)));
                            writing = false;
                            deadline.get_or_insert_with(|| Instant::now() + self.timing.close_timeout());
                        }
                    }
                }
                item = self.outbound.next(), if writing => {
                    let close = match item {
                        Some(Outbound::Data(d)) => {
                            clocks.data = Instant::now();
                            match tokio::time::timeout(self.timing.write_timeout(), self.write_batch(d)).await {
                                Ok(Ok(close)) => close,
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %e, "write failed");
                                    self.deliver_end(&mut end_delivered, End::Failed(e.to_string()));
                                    break;
                                }
                                Err(_) => {
                                    tracing::info!(timeout = ?self.timing.write_timeout(), "peer is not reading: disconnecting");
                                    metrics::counter!("nagare_slow_consumers_total", "action" => "write_timeout").increment(1);
                                    self.deliver_end(&mut end_delivered, End::Failed("write timed out: the peer is not reading".into()));
                                    break;
                                }
                            }
                        }
                        Some(Outbound::Close(f)) => Some(f),
                        // Every handle is gone: leave politely.
                        None => Some(CloseFrame::new(CloseCode::NORMAL, match self.side {
                            Side::Client => crate::close::CLIENT_CLOSING,
                            Side::Server => crate::close::SERVER_CLOSING,
                        })),
                    };
                    if let Some(frame) = close {
                        let frame = violation.take().unwrap_or(frame);
                        match tokio::time::timeout(self.timing.write_timeout(), self.writer.close(&frame)).await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => {
                                tracing::debug!(error = %e, "close frame not sent");
                                break;
                            }
                            Err(_) => break,
                        }
                        writing = false;
                        if !reading {
                            // Nothing more will come from a peer that broke the protocol.
                            break;
                        }
                        deadline.get_or_insert_with(|| Instant::now() + self.timing.close_timeout());
                    }
                }
                step = read_or_reserve(&mut self.reader, &mut self.inbound, room, discard), if reading => {
                    let ReadOrRoom::Read(step) = step else {
                        room = true;
                        discard = matches!(step, ReadOrRoom::NobodyReceives);
                        // Reading resumes: give the peer a full interval again.
                        clocks.heard = Instant::now();
                        clocks.pinged = None;
                        continue;
                    };
                    clocks.heard = Instant::now();
                    clocks.pinged = None;
                    self.stats.last_heard_ms.store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
                    match step {
                    ReadStep::Continue(len) => {
                        tracing::trace!(bytes = len, "message in");
                        clocks.data = clocks.heard;
                        room = discard;
                        self.stats.messages_in.fetch_add(1, Ordering::Relaxed);
                        self.stats.bytes_in.fetch_add(len as u64, Ordering::Relaxed);
                        self.traffic.messages_in.increment(1);
                        self.traffic.bytes_in.increment(len as u64);
                    }
                    ReadStep::Heard => {}
                    ReadStep::PeerClosed => {
                        end_delivered = true;
                        room = discard;
                        // The close echo is queued by the WebSocket layer and
                        // flushed by the next read; nothing more may be sent.
                        writing = false;
                        deadline.get_or_insert_with(|| Instant::now() + self.timing.close_timeout());
                    }
                    ReadStep::Failed(e) => {
                        tracing::debug!(error = %e, "peer failed the connection");
                        if let Some(code) = e.close_code() {
                            let code = match code {
                                1002 => "1002",
                                1007 => "1007",
                                _ => "1009",
                            };
                            metrics::counter!("nagare_protocol_errors_total", "code" => code).increment(1);
                        }
                        self.deliver_end(&mut end_delivered, End::Failed(e.to_string()));
                        match e.close_code() {
                            // Messages that arrived before the violation are still
                            // answered; then the peer gets the violation's code.
                            Some(code) if writing => {
                                violation = Some(CloseFrame::new(code, e.to_string()));
                                reading = false;
                                deadline = Some(Instant::now() + self.timing.close_timeout());
                            }
                            _ => break,
                        }
                    }
                    ReadStep::Eof => {
                        if !end_delivered {
                            self.deliver_end(&mut end_delivered, End::Failed("connection reset without a closing handshake".into()));
                        }
                        break;
                    }
                    }
                }
            }
        }
        // Flushes what is buffered and sends FIN; a peer that does not read cannot
        // hold the task here longer than the close timeout.
        let _ = tokio::time::timeout(self.timing.close_timeout(), self.writer.shutdown()).await;
    }

    /// Writes `first` and everything else already queued, then flushes once.
    /// Returns a close frame if one was queued behind the data.
    async fn write_batch(&mut self, first: Data) -> Result<Option<CloseFrame>, WsError> {
        self.traffic
            .queue_depth
            .record((self.outbound.len() + 1) as f64);
        self.count_out(&first);
        self.writer.feed(first).await?;
        let mut close = None;
        loop {
            match self.outbound.try_next() {
                Some(Outbound::Data(d)) => {
                    self.count_out(&d);
                    self.writer.feed(d).await?
                }
                Some(Outbound::Close(f)) => {
                    close = Some(f);
                    break;
                }
                None => break,
            }
        }
        self.stats.flushes.fetch_add(1, Ordering::Relaxed);
        self.writer.flush().await?;
        Ok(close)
    }

    fn count_out(&self, d: &Data) {
        tracing::trace!(bytes = d.len(), "message out");
        self.stats.messages_out.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes_out
            .fetch_add(d.len() as u64, Ordering::Relaxed);
        self.traffic.messages_out.increment(1);
        self.traffic.bytes_out.increment(d.len() as u64);
    }

    /// Tells the receiving handle the connection ended, if it has room; the
    /// receiver also learns it from the queue closing.
    fn deliver_end(&mut self, delivered: &mut bool, end: End) {
        if matches!(end, End::Failed(_)) {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        if !*delivered {
            *delivered = true;
            let _ = self.inbound.try_send(Inbound::End(end));
        }
    }
}

/// What the reading side did.
enum ReadOrRoom {
    /// A slot in the inbound queue is reserved.
    Room,
    /// The receiving handle is gone.
    NobodyReceives,
    /// An item was read.
    Read(ReadStep),
}

/// Reserves a slot in the inbound queue when none is, else reads one item.
async fn read_or_reserve<S: AsyncRead + AsyncWrite + Unpin>(
    reader: &mut SocketReader<S>,
    inbound: &mut mpsc::Sender<Inbound>,
    room: bool,
    discard: bool,
) -> ReadOrRoom {
    if !room {
        return match std::future::poll_fn(|cx| inbound.poll_ready(cx)).await {
            Ok(()) => ReadOrRoom::Room,
            Err(_) => ReadOrRoom::NobodyReceives,
        };
    }
    ReadOrRoom::Read(read_step(reader, inbound, discard).await)
}

/// Reads one item and delivers it into the slot the caller reserved (or drops it
/// when nobody receives). Cancel safe: dropping it loses no message.
async fn read_step<S: AsyncRead + AsyncWrite + Unpin>(
    reader: &mut SocketReader<S>,
    inbound: &mut mpsc::Sender<Inbound>,
    discard: bool,
) -> ReadStep {
    match reader.recv().await {
        Some(Ok(Received::Data(d))) => {
            let len = d.len();
            if !discard {
                let _ = inbound.start_send(Inbound::Data(d));
            }
            ReadStep::Continue(len)
        }
        Some(Ok(Received::Close(f))) => {
            if !discard {
                let _ = inbound.start_send(Inbound::End(End::PeerClosed(f)));
            }
            ReadStep::PeerClosed
        }
        Some(Ok(Received::Control)) => ReadStep::Heard,
        Some(Err(e)) => ReadStep::Failed(e),
        None => ReadStep::Eof,
    }
}

/// The receiving end of a connection, at the level of raw messages.
pub(crate) struct RawReceiver {
    rx: mpsc::Receiver<Inbound>,
    /// Set once the end was seen, so later calls keep reporting it.
    ended: Option<End>,
}

impl RawReceiver {
    pub(crate) fn new(rx: mpsc::Receiver<Inbound>) -> Self {
        RawReceiver { rx, ended: None }
    }

    /// The next data message; `Ok(None)` at a clean end of the connection.
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Data>, StreamError>> {
        if let Some(end) = &self.ended {
            return Poll::Ready(end.error().map_or(Ok(None), Err));
        }
        match self.rx.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Inbound::Data(d))) => Poll::Ready(Ok(Some(d))),
            Poll::Ready(Some(Inbound::End(end))) => {
                let r = end.error().map_or(Ok(None), Err);
                self.ended = Some(end);
                Poll::Ready(r)
            }
            Poll::Ready(None) => {
                let end = End::Failed("connection closed".into());
                let r = end.error().map_or(Ok(None), Err);
                self.ended = Some(end);
                Poll::Ready(r)
            }
        }
    }
}

/// Shared ownership of a connection's outbound queue. The connection stays open
/// while any clone lives; the last drop makes the driver close it.
#[derive(Clone)]
pub(crate) struct Keepalive(#[allow(dead_code)] Arc<OutboundSender>);

impl Keepalive {
    pub(crate) fn new(tx: OutboundSender) -> Self {
        Keepalive(Arc::new(tx))
    }
}

impl RawReceiver {
    /// Skips data until the connection ends: `Ok(true)` at a clean end, the error
    /// otherwise; `Ok(false)` after skipping one unexpected data message.
    pub(crate) async fn poll_next_end(&mut self) -> Result<bool, StreamError> {
        match std::future::poll_fn(|cx| self.poll_recv(cx)).await {
            Ok(None) => Ok(true),
            Ok(Some(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
