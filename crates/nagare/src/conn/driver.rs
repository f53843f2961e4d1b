//! The driver of one connection: the future that owns the socket.
//!
//! It is a small state machine. [`Phase`] says which directions are open and by
//! when the connection must be over; [`Inbox`] says whether the receiving handle
//! has room. Each turn waits for one [`Event`] (a timer, an outbound item, room
//! in the inbox, a read) and hands it to its handler, which updates the state and
//! does the writes the event calls for:
//!
//! | event | handler | may move to |
//! |---|---|---|
//! | a liveness timer or the closing deadline | [`Driver::on_timer`] | `Closing`, stop |
//! | a batch of messages written, or failed | [`Driver::batch_ends`] | stop |
//! | a close request, or every handle gone | [`Driver::on_close`] | `Closing`, stop |
//! | room in the inbox | [`Driver::on_room`] | |
//! | frames read (a run of them), the peer's close, a violation, EOF | [`Driver::on_read`] | `Draining`, `Closing`, stop |
//!
//! and [`Driver::finish`] flushes and shuts the socket down at the end.
//!
//! Messages are written within the turn that finds them ([`Driver::write`]):
//! a batch the socket takes at once builds no future and allocates nothing.
//! One the socket makes wait is kept in [`Driver::writing`] and finished
//! first by the next turns; nothing else happens meanwhile, as if the turn
//! had awaited it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::close::{CloseCode, CLIENT_CLOSING, SERVER_CLOSING};
use crate::conn::batch::{Batch, Outcome};
use crate::conn::config::ConnConfig;
use crate::conn::inbound::{End, Inbound, InboundSender};
use crate::conn::outbound::{Outbound, OutboundReceiver};
use crate::conn::quota::Quota;
use crate::conn::stats::ConnStats;
use crate::conn::timing::{within, Alarm, Clocks, Due, TimedOut, Timing};
use crate::conn::Side;
use crate::error::StreamError;
use crate::ws::{CloseFrame, Data, Received, Socket, WsError};

/// What the driver owns: the socket, the queues to the handles, and
/// the state of the connection.
pub(super) struct Driver<S> {
    socket: Socket<S>,
    inbound: InboundSender,
    outbound: OutboundReceiver,
    timing: Timing,
    side: Side,
    stats: Arc<ConnStats>,
    started: Instant,
    traffic: &'static Traffic,
    phase: Phase,
    inbox: Inbox,
    clocks: Clocks,
    /// A batch the socket made wait, finished before anything else. Boxed:
    /// most batches are written at once, and inline it would size every
    /// connection.
    writing: Option<Box<Batch>>,
    /// The receiving handle was told how the connection ended.
    end_told: bool,
    /// What the peer may send, when `ConnConfig` limits it (a rate, totals;
    /// boxed: most connections have none).
    quota: Option<Box<Quota>>,
    /// Cancels the connection's `gone` token when the driver ends, however it
    /// ends (its future dropped included). Held by the driver itself, so the
    /// task holds one copy of the driver, not a moved-from one beside it.
    _gone: DropGuard,
}

/// Where the connection is in its life.
#[derive(Debug, PartialEq, Eq)]
enum Phase {
    /// Both directions open.
    Open,
    /// The peer broke the protocol: nothing more is read. The handles may still
    /// answer what arrived before the violation (until `until`); then the peer
    /// gets `frame`, whatever close the handles ask for, so it learns what it did
    /// wrong. The frame is boxed: a violation is rare, and inline it would
    /// size every connection's driver (48 bytes rather than 24).
    Draining {
        frame: Box<CloseFrame>,
        until: Instant,
    },
    /// A close frame went out or came in: nothing more is written; reading goes
    /// on (it flushes the close echo and finds the peer's close or EOF) until
    /// `until`.
    Closing { until: Instant },
}

impl Phase {
    fn reads(&self) -> bool {
        !matches!(self, Phase::Draining { .. })
    }

    fn writes(&self) -> bool {
        !matches!(self, Phase::Closing { .. })
    }

    fn deadline(&self) -> Option<Instant> {
        match self {
            Phase::Open => None,
            Phase::Draining { until, .. } | Phase::Closing { until } => Some(*until),
        }
    }
}

/// The inbound queue, seen from the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inbox {
    /// A slot is reserved before each read, in the same step as the read while
    /// there is room, so what is read always has a place and a message costs
    /// one turn of the driver.
    Open,
    /// The queue was full at the last read: the room is reported before the
    /// next read. Liveness checks go on meanwhile.
    Waiting,
    /// The service left the queue full when a liveness check came due: nothing
    /// is read (TCP pushes back on the peer), and the peer cannot be judged dead,
    /// until room comes.
    Full,
    /// Nobody receives (a server stream, or a dropped receiver): data is read and
    /// dropped; control frames still prove the peer alive.
    Discard,
}

/// One thing that happened to the connection.
enum Event {
    /// The timer fired: a liveness check or the closing deadline may be due.
    Timer,
    /// A batch of messages went out, counted.
    Wrote,
    /// The handles asked for this close (queued behind their messages, or on
    /// its own), or (`None`) every handle is gone.
    Close(Option<CloseFrame>),
    /// Writing failed or timed out: the receiving handle was told.
    WriteFailed,
    /// The inbox has room after the reader waited for it (`true`), or nobody
    /// receives any more (`false`).
    Room(bool),
    /// Frames were read.
    Read(Reads),
}

/// What [`Driver::on_event`] did with an event.
enum Handled {
    /// Handled; the connection goes on or stops.
    Now(Flow),
    /// Its handling writes, and may wait for the socket.
    Waits(Waits),
}

/// The events whose handling may wait (on the socket, for a ping or a close).
enum Waits {
    Timer,
    Close(Option<CloseFrame>),
}

/// Most frames (data or control) one turn reads in a row. The inbox's room
/// bounds a run of data too; this bounds one that discards (nobody receives)
/// or reads control frames, and keeps the timer and the handles' queue
/// looked at between runs.
const READ_RUN: u32 = 32;

/// What one turn's reads brought: the frames the socket had ready, read in a
/// row while the inbox had room, so the turn's bookkeeping (the clock, the
/// counters, the timer) is paid once per run rather than once per message.
#[derive(Debug, Default)]
struct Reads {
    /// Data messages delivered into the inbox (or dropped, when nobody
    /// receives), and their bytes.
    messages: u32,
    bytes: usize,
    /// A frame of any kind arrived: the peer is alive.
    heard: bool,
    /// The last data message went past what the peer may send (its rate or
    /// its totals).
    flooded: bool,
    /// What ended the run after its data, when it was not a pause.
    end: Option<ReadEnd>,
}

/// A read that ends reading.
#[derive(Debug)]
enum ReadEnd {
    /// The peer's close frame (delivered to the receiving handle).
    PeerClosed,
    /// The peer broke the protocol, or the socket failed. Boxed: the error
    /// is rare, and the event that carries it sits in the state every
    /// connection holds while it writes (24 bytes inline made it 8 larger).
    Failed(Box<WsError>),
    /// The socket ended.
    Eof,
}

impl Reads {
    /// The run so far as the turn's event, or `Pending` when nothing was read.
    fn done(self) -> Poll<Event> {
        if self.heard {
            Poll::Ready(Event::Read(self))
        } else {
            Poll::Pending
        }
    }

    /// The run ended by `end`.
    fn ended(mut self, end: ReadEnd) -> Poll<Event> {
        self.heard = true;
        self.end = Some(end);
        Poll::Ready(Event::Read(self))
    }
}

/// Whether the connection goes on after a handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
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
        TRAFFIC.get_or_init(|| Traffic {
            queue_depth: metrics::histogram!("nagare_send_queue_depth"),
            messages_in: metrics::counter!("nagare_messages_total", "direction" => "in"),
            messages_out: metrics::counter!("nagare_messages_total", "direction" => "out"),
            bytes_in: metrics::counter!("nagare_bytes_total", "direction" => "in"),
            bytes_out: metrics::counter!("nagare_bytes_total", "direction" => "out"),
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Driver<S> {
    pub(super) fn new(
        socket: Socket<S>,
        config: &ConnConfig,
        side: Side,
        stats: Arc<ConnStats>,
        inbound: InboundSender,
        outbound: OutboundReceiver,
        gone: &CancellationToken,
    ) -> Self {
        let now = Instant::now();
        Driver {
            socket,
            inbound,
            outbound,
            timing: Timing::of(config),
            side,
            stats,
            started: now,
            traffic: Traffic::get(),
            phase: Phase::Open,
            inbox: Inbox::Open,
            clocks: Clocks::started(now),
            writing: None,
            end_told: false,
            quota: Quota::of(config, now.into_std()),
            _gone: gone.clone().drop_guard(),
        }
    }

    /// Runs the connection until it is over.
    ///
    /// Not an `async fn`: its argument would be kept twice in the future, once
    /// as the argument and once as the local it is moved into, and the driver
    /// holds the socket inline. The `async move` block uses it in place.
    #[allow(clippy::manual_async_fn)]
    pub(super) fn run(mut self) -> impl std::future::Future<Output = ()> + Send
    where
        S: 'static,
    {
        async move {
            let mut alarm = std::pin::pin!(Alarm::new(self.started));
            loop {
                if let Some(at) = self.next_wake() {
                    alarm.as_mut().arm(at);
                }
                let event = std::future::poll_fn(|cx| self.poll_event(cx, alarm.as_mut())).await;
                // The event is handled here, or becomes the work that waits,
                // so that the event is not kept while that work waits:
                // matched on across those awaits, it stayed in the state
                // every idle connection holds (40 bytes).
                let waits = match self.on_event(event) {
                    Handled::Now(Flow::Continue) => continue,
                    Handled::Now(Flow::Stop) => break,
                    Handled::Waits(waits) => waits,
                };
                // Boxed: a timer fires at most once per ping interval and
                // the close is sent once per connection; inline, their
                // futures would size the state every connection holds.
                if Box::pin(self.on_waiting(waits)).await == Flow::Stop {
                    break;
                }
            }
            // Boxed, as the close is: once per connection.
            Box::pin(self.finish()).await;
        }
    }

    /// Handles an event that needs no waiting; returns the one that does.
    fn on_event(&mut self, event: Event) -> Handled {
        Handled::Now(match event {
            Event::Wrote => Flow::Continue,
            Event::WriteFailed => Flow::Stop,
            Event::Room(receiving) => self.on_room(receiving),
            Event::Read(run) => self.on_read(run),
            Event::Timer => return Handled::Waits(Waits::Timer),
            Event::Close(frame) => return Handled::Waits(Waits::Close(frame)),
        })
    }

    /// Handles an event whose writes may wait.
    async fn on_waiting(&mut self, waits: Waits) -> Flow {
        match waits {
            Waits::Timer => self.on_timer().await,
            Waits::Close(frame) => self.on_close(frame).await,
        }
    }

    /// When the timer must fire next: the next liveness check while the
    /// connection is open both ways and the peer may be read, or the deadline.
    fn next_wake(&self) -> Option<Instant> {
        let liveness = match (&self.phase, self.inbox) {
            (Phase::Open, Inbox::Open | Inbox::Waiting | Inbox::Discard) => {
                self.clocks.next(&self.timing).map(|(at, _)| at)
            }
            _ => None,
        };
        match (liveness, self.phase.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next event, in order of urgency: the timer, the handles' queue, the
    /// socket. A poll function rather than a `select!` of futures: a turn
    /// builds no future, and a driver waiting for its peer holds none.
    fn poll_event(&mut self, cx: &mut Context<'_>, alarm: Pin<&mut Alarm>) -> Poll<Event> {
        if let Some(batch) = self.writing.as_deref_mut() {
            let outcome =
                std::task::ready!(batch.poll_write(&mut self.socket, &mut self.outbound, cx));
            self.writing = None;
            return Poll::Ready(self.batch_ends(outcome));
        }
        if alarm.poll_fired(cx) {
            return Poll::Ready(Event::Timer);
        }
        if self.phase.writes() {
            match self.outbound.poll_next(cx) {
                Poll::Ready(Some(Outbound::Data(first))) => return self.write(first, cx),
                Poll::Ready(Some(Outbound::Close(frame))) => {
                    return Poll::Ready(Event::Close(Some(frame)))
                }
                Poll::Ready(None) => return Poll::Ready(Event::Close(None)),
                Poll::Pending => {}
            }
        }
        if self.phase.reads() {
            return self.poll_read(cx);
        }
        Poll::Pending
    }

    /// Reserves a slot in the inbound queue and reads one item into it, then
    /// the next while the socket has frames ready and the inbox room, up to
    /// [`READ_RUN`]. When the first reservation has to wait, the room is
    /// reported first (as [`Event::Room`]), so that the driver restarts its
    /// liveness clocks before it reads again.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        let mut run = Reads::default();
        // The inbox said, as the last message went in, that another fits.
        let mut room = false;
        let mut now = None;
        let mut frames = 0;
        loop {
            if frames == READ_RUN {
                return run.done();
            }
            frames += 1;
            let discard = match self.inbox {
                Inbox::Discard => true,
                Inbox::Open if room => false,
                Inbox::Open => match self.inbound.poll_ready(cx) {
                    Poll::Ready(Ok(())) => false,
                    // Reported on its own, after the run.
                    Poll::Ready(Err(_)) if run.heard => return run.done(),
                    Poll::Ready(Err(_)) => return Poll::Ready(Event::Room(false)),
                    Poll::Pending => {
                        self.inbox = Inbox::Waiting;
                        return run.done();
                    }
                },
                Inbox::Waiting | Inbox::Full => {
                    return self.inbound.poll_ready(cx).map(|r| Event::Room(r.is_ok()));
                }
            };
            let received = match self.socket.poll_recv(cx) {
                Poll::Pending => return run.done(),
                Poll::Ready(received) => received,
            };
            match received {
                Some(Ok(Received::Data(d))) => {
                    run.heard = true;
                    run.messages += 1;
                    run.bytes += d.len();
                    // A message past the peer's limits is not delivered: what
                    // came before it is answered, then the peer is closed.
                    if let Some(quota) = self.quota.as_deref_mut() {
                        let clock = || *now.get_or_insert_with(|| Instant::now().into_std());
                        let is_end = || crate::message::is_end_of_stream(d.as_bytes());
                        if !quota.take(d.len(), clock, is_end) {
                            run.flooded = true;
                            return run.done();
                        }
                    }
                    if !discard {
                        room = self.inbound.send(Inbound::Data(d));
                    }
                }
                Some(Ok(Received::Control)) => run.heard = true,
                Some(Ok(Received::Close(f))) => {
                    let end = End::PeerClosed(f);
                    self.refuse_sends(&end);
                    if !discard {
                        self.inbound.send(Inbound::End(end));
                    }
                    return run.ended(ReadEnd::PeerClosed);
                }
                Some(Err(e)) => return run.ended(ReadEnd::Failed(Box::new(e))),
                None => return run.ended(ReadEnd::Eof),
            }
        }
    }

    /// The timer fired: ends a connection past its deadline, or runs the
    /// liveness check that is due (ping, dead peer, idle).
    async fn on_timer(&mut self) -> Flow {
        let now = Instant::now();
        if self.phase.deadline().is_some_and(|d| d <= now) {
            if let Phase::Draining { frame, .. } = &self.phase {
                let _ = self.socket.close(frame).await;
            }
            return Flow::Stop;
        }
        if self.phase != Phase::Open || self.inbox == Inbox::Full {
            return Flow::Continue;
        }
        let due = match self.clocks.next(&self.timing) {
            Some((at, due)) if at <= now => due,
            // Fired for an older, earlier deadline.
            _ => return Flow::Continue,
        };
        if matches!(self.inbox, Inbox::Open | Inbox::Waiting) && !self.inbound.has_room() {
            // The service is behind, not the peer: liveness waits for room.
            self.inbox = Inbox::Full;
            return Flow::Continue;
        }
        match due {
            Due::Ping => {
                self.clocks.pinged = Some(now);
                let limit = self.timing.write_timeout();
                let ping = self.socket.ping(bytes::Bytes::from_static(b"nagare"));
                match within(limit, ping).await {
                    Ok(Ok(())) => Flow::Continue,
                    Ok(Err(e)) => self.fail(StreamError::lost_by("a ping could not be written", e)),
                    Err(_) => self.fail(StreamError::lost("a ping could not be written in time")),
                }
            }
            Due::Dead => {
                tracing::info!(timeout = ?self.timing.pong_timeout(), "peer did not answer a ping: closing");
                metrics::counter!("nagare_connections_dead_total").increment(1);
                let frame = CloseFrame::new(CloseCode::GOING_AWAY, "ping timeout");
                let limit = self.timing.close_timeout();
                let _ = within(limit, self.socket.close(&frame)).await;
                self.fail(StreamError::lost("the peer stopped answering pings"))
            }
            Due::Idle => {
                let frame = CloseFrame::new(CloseCode::GOING_AWAY, "idle timeout");
                let limit = self.timing.write_timeout();
                if !matches!(within(limit, self.socket.close(&frame)).await, Ok(Ok(()))) {
                    return Flow::Stop;
                }
                self.tell_end(End::PeerClosed(Some(frame)));
                self.phase = Phase::Closing {
                    until: now + self.timing.close_timeout(),
                };
                Flow::Continue
            }
        }
    }

    /// The handles queued a message: writes it and every message queued
    /// behind it, then flushes them, in this turn if the socket takes them.
    /// A batch the socket makes wait is kept for the next turns.
    fn write(&mut self, first: Data, cx: &mut Context<'_>) -> Poll<Event> {
        let mut batch = Batch::new(first, self.batch_starts());
        match batch.poll_write(&mut self.socket, &mut self.outbound, cx) {
            Poll::Ready(outcome) => Poll::Ready(self.batch_ends(outcome)),
            Poll::Pending => {
                self.writing = Some(Box::new(batch));
                Poll::Pending
            }
        }
    }

    /// A batch is about to be written: the idle clock and the queue's depth
    /// are recorded. Returns the time the batch may take.
    fn batch_starts(&mut self) -> std::time::Duration {
        if self.timing.idle_timeout().is_some() {
            self.clocks.data = Instant::now();
        }
        self.traffic
            .queue_depth
            .record((self.outbound.len() + 1) as f64);
        self.timing.write_timeout()
    }

    /// A batch was written (counted once, not message by message), failed,
    /// or ran out of time. The event says what comes next: the close queued
    /// behind the data, if one was.
    fn batch_ends(&mut self, outcome: Outcome) -> Event {
        match outcome {
            Ok(Ok(written)) => {
                self.stats.flushed(written.messages, written.bytes);
                self.traffic.messages_out.increment(written.messages);
                self.traffic.bytes_out.increment(written.bytes);
                match written.close {
                    Some(frame) => Event::Close(Some(frame)),
                    None => Event::Wrote,
                }
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "write failed");
                self.fail(StreamError::lost_by("writing to the peer failed", e));
                Event::WriteFailed
            }
            Err(TimedOut) => {
                tracing::info!(timeout = ?self.timing.write_timeout(), "peer is not reading: disconnecting");
                metrics::counter!("nagare_slow_consumers_total", "action" => "write_timeout")
                    .increment(1);
                self.fail(StreamError::lost(
                    "write timed out: the peer is not reading",
                ));
                Event::WriteFailed
            }
        }
    }

    /// Sends the close frame the handles asked for (a close 1000 when every
    /// handle is gone; the violation's, after a protocol error) and stops
    /// writing.
    async fn on_close(&mut self, asked: Option<CloseFrame>) -> Flow {
        let (frame, draining) = match (&self.phase, asked) {
            (Phase::Draining { frame, .. }, _) => (CloseFrame::clone(frame), true),
            (_, Some(frame)) => (frame, false),
            // Every handle is gone: leave politely.
            (_, None) => (
                CloseFrame::new(
                    CloseCode::NORMAL,
                    match self.side {
                        Side::Client => CLIENT_CLOSING,
                        Side::Server => SERVER_CLOSING,
                    },
                ),
                false,
            ),
        };
        let limit = self.timing.write_timeout();
        match within(limit, self.socket.close(&frame)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "close frame not sent");
                return Flow::Stop;
            }
            Err(_) => return Flow::Stop,
        }
        if draining {
            // Nothing more will come from a peer that broke the protocol.
            return Flow::Stop;
        }
        self.phase = Phase::Closing {
            until: Instant::now() + self.timing.close_timeout(),
        };
        Flow::Continue
    }

    /// The inbox has room again, or nobody receives: reading resumes, and the
    /// peer gets a full interval before it can be judged dead.
    fn on_room(&mut self, receiving: bool) -> Flow {
        self.inbox = if receiving {
            Inbox::Open
        } else {
            Inbox::Discard
        };
        self.clocks.heard(Instant::now());
        Flow::Continue
    }

    /// Frames were read: the peer is alive; the data is counted; a flood, a
    /// close or a violation starts the end of the connection.
    fn on_read(&mut self, run: Reads) -> Flow {
        let now = Instant::now();
        self.clocks.heard(now);
        self.stats
            .heard_at(now.duration_since(self.started).as_millis() as u64);
        if run.messages > 0 {
            tracing::trace!(messages = run.messages, bytes = run.bytes, "messages in");
            self.clocks.data = now;
            self.stats.received(run.messages, run.bytes);
            self.traffic.messages_in.increment(u64::from(run.messages));
            self.traffic.bytes_in.increment(run.bytes as u64);
            if run.flooded {
                return self.flooded(now);
            }
        }
        match run.end {
            None => Flow::Continue,
            Some(ReadEnd::PeerClosed) => {
                // The end went into the reserved slot with the close frame.
                self.end_told = true;
                // The close echo is queued by the WebSocket layer and flushed by
                // the next read; nothing more may be sent.
                if !matches!(self.phase, Phase::Closing { .. }) {
                    self.phase = Phase::Closing {
                        until: now + self.timing.close_timeout(),
                    };
                }
                Flow::Continue
            }
            Some(ReadEnd::Failed(e)) => {
                tracing::debug!(error = %e, "peer failed the connection");
                let code = e.close_code();
                if let Some(code) = code {
                    let label = match code {
                        1002 => "1002",
                        1007 => "1007",
                        _ => "1009",
                    };
                    metrics::counter!("nagare_protocol_errors_total", "code" => label).increment(1);
                }
                let reason = e.to_string();
                let flow = self.fail(StreamError::lost_by("the peer broke the protocol", *e));
                match (code, &self.phase) {
                    // Messages that arrived before the violation are still
                    // answered; then the peer gets the violation's code.
                    (Some(code), Phase::Open) => {
                        self.phase = Phase::Draining {
                            frame: Box::new(CloseFrame::new(code, reason)),
                            until: now + self.timing.close_timeout(),
                        };
                        Flow::Continue
                    }
                    _ => flow,
                }
            }
            Some(ReadEnd::Eof) => {
                if !self.end_told {
                    self.fail(StreamError::lost(
                        "connection reset without a closing handshake",
                    ));
                }
                Flow::Stop
            }
        }
    }

    /// The peer went past what it may send: nothing more is read, the
    /// handles may answer what arrived, then the peer gets 1008 naming the
    /// limit.
    fn flooded(&mut self, now: Instant) -> Flow {
        let reason = match self.quota.as_deref() {
            Some(q) => q.reason(),
            None => "message limit exceeded".to_owned(),
        };
        tracing::debug!(%reason, "peer sent messages too fast");
        metrics::counter!("nagare_protocol_errors_total", "code" => "1008").increment(1);
        let flow = self.fail(StreamError::lost(reason.clone()));
        if self.phase == Phase::Open {
            self.phase = Phase::Draining {
                frame: Box::new(CloseFrame::new(CloseCode::POLICY, reason)),
                until: now + self.timing.close_timeout(),
            };
            return Flow::Continue;
        }
        flow
    }

    /// Flushes what is buffered and sends FIN; a peer that does not read cannot
    /// hold the task here longer than the close timeout.
    async fn finish(&mut self) {
        let limit = self.timing.close_timeout();
        let _ = within(limit, self.socket.shutdown()).await;
    }

    /// The connection failed: the receiving handle is told why, and it stops.
    fn fail(&mut self, error: StreamError) -> Flow {
        self.stats.failed();
        self.tell_end(End::Failed(error));
        Flow::Stop
    }

    /// Tells the receiving handle how the connection ended (the end always
    /// fits in the queue), once.
    fn tell_end(&mut self, end: End) {
        if !self.end_told {
            self.end_told = true;
            self.refuse_sends(&end);
            self.inbound.send(Inbound::End(end));
        }
    }

    /// On a client, the connection's end is what every later send reports
    /// (the server's error, or a closed stream), rather than a send that
    /// seems to work and goes nowhere. A server's method learns of the end
    /// from its receiving handle, as before.
    fn refuse_sends(&self, end: &End) {
        if self.side == Side::Client {
            self.outbound
                .end_with(end.error().unwrap_or(StreamError::StreamClosed));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::{FutureExt, SinkExt, StreamExt};
    use tokio::io::DuplexStream;
    use tokio_tungstenite::tungstenite::protocol::Role;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::WebSocketStream;

    use super::*;
    use std::task::Waker;

    use crate::conn::inbound::InboundReceiver;
    use crate::conn::outbound::{queue, OutboundSender, Priority, SlowConsumer};
    use crate::ws::{Data, TextBytes};

    /// A driver over an in-memory socket, the handles' ends of its queues, and
    /// the peer's WebSocket.
    struct Rig {
        driver: Driver<DuplexStream>,
        inbound: InboundReceiver,
        outbound: OutboundSender,
        peer: WebSocketStream<DuplexStream>,
    }

    async fn rig(config: ConnConfig) -> Rig {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let socket = Socket::new(
            WebSocketStream::from_raw_socket(ours, Role::Server, Some(config.ws.to_tungstenite()))
                .await,
        );
        let peer = WebSocketStream::from_raw_socket(theirs, Role::Client, None).await;
        let (in_tx, in_rx) = crate::conn::inbound::queue(5);
        let (out_tx, out_rx) = queue(8, usize::MAX, SlowConsumer::Wait);
        let driver = Driver::new(
            socket,
            &config,
            Side::Server,
            Arc::default(),
            in_tx,
            out_rx,
            &CancellationToken::new(),
        );
        Rig {
            driver,
            inbound: in_rx,
            outbound: out_tx,
            peer,
        }
    }

    fn text(s: &'static str) -> Data {
        Data::Text(TextBytes::from(s))
    }

    /// The next close frame the peer reads, as (code, reason).
    async fn peer_close(peer: &mut WebSocketStream<DuplexStream>) -> Option<(u16, String)> {
        while let Some(Ok(m)) = peer.next().await {
            if let Message::Close(f) = m {
                return f.map(|f| (u16::from(f.code), f.reason.as_str().to_owned()));
            }
        }
        None
    }

    /// A run of reads that ended with `end`.
    fn ended(end: ReadEnd) -> Reads {
        Reads {
            heard: true,
            end: Some(end),
            ..Reads::default()
        }
    }

    /// A run of `messages` data messages, `bytes` in all.
    fn data_run(messages: u32, bytes: usize) -> Reads {
        Reads {
            messages,
            bytes,
            heard: true,
            ..Reads::default()
        }
    }

    fn told(rx: &mut InboundReceiver) -> Option<End> {
        let mut cx = Context::from_waker(Waker::noop());
        match rx.poll_next(&mut cx) {
            Poll::Ready(Some(Inbound::End(end))) => Some(end),
            _ => None,
        }
    }

    /// The driver's next event, as its run loop would get it.
    async fn next_event(driver: &mut Driver<DuplexStream>) -> Event {
        let mut alarm = std::pin::pin!(Alarm::new(Instant::now()));
        if let Some(at) = driver.next_wake() {
            alarm.as_mut().arm(at);
        }
        std::future::poll_fn(|cx| driver.poll_event(cx, alarm.as_mut())).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_of_queued_messages_is_written_in_the_turn_with_one_flush() {
        let mut r = rig(ConnConfig::default()).await;
        for m in ["first", "a", "b"] {
            assert!(r.outbound.push(text(m), Priority::Normal).is_ok());
        }
        let mut cx = Context::from_waker(Waker::noop());
        let mut alarm = std::pin::pin!(Alarm::new(Instant::now()));
        assert!(matches!(
            r.driver.poll_event(&mut cx, alarm.as_mut()),
            Poll::Ready(Event::Wrote)
        ));
        assert!(r.driver.writing.is_none(), "nothing kept, nothing boxed");
        assert_eq!(r.driver.stats.counts().flushes, 1);
        assert_eq!(r.driver.stats.counts().messages_out, 3);
        for want in ["first", "a", "b"] {
            assert_eq!(
                r.peer.next().await.and_then(Result::ok),
                Some(Message::text(want))
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_the_socket_makes_wait_is_finished_before_anything_else() {
        let mut r = rig(ConnConfig::default()).await;
        // Larger than the pipe (64 KiB) and the socket's write buffer.
        let big = "x".repeat(256 * 1024);
        assert!(r
            .outbound
            .push(Data::Text(TextBytes::from(big.clone())), Priority::Normal)
            .is_ok());
        let close = CloseFrame::new(CloseCode::NORMAL, "done");
        assert!(r.outbound.close(close).is_ok());
        // The peer's message waits in the socket meanwhile, unread.
        r.peer
            .send(Message::text("hello"))
            .await
            .expect("the peer writes");
        let mut cx = Context::from_waker(Waker::noop());
        let mut alarm = std::pin::pin!(Alarm::new(Instant::now()));
        assert!(r.driver.poll_event(&mut cx, alarm.as_mut()).is_pending());
        assert!(r.driver.writing.is_some(), "the batch is kept");
        let read = async {
            match r.peer.next().await {
                Some(Ok(Message::Text(t))) => t.len(),
                other => panic!("the big message expected, got {other:?}"),
            }
        };
        let (event, got) = tokio::join!(next_event(&mut r.driver), read);
        // The batch ends with the close queued behind it; nothing was read.
        assert!(matches!(event, Event::Close(Some(f)) if f.code == 1000));
        assert_eq!(got, big.len());
        assert!(r.driver.writing.is_none());
        assert_eq!(r.driver.stats.counts().messages_out, 1);
        assert_eq!(r.driver.stats.counts().messages_in, 0);
        assert!(matches!(r.inbound.poll_next(&mut cx), Poll::Pending));
    }

    #[tokio::test(start_paused = true)]
    async fn every_handle_gone_closes_with_1000_and_keeps_reading_for_the_answer() {
        let mut r = rig(ConnConfig::default()).await;
        assert_eq!(r.driver.on_close(None).await, Flow::Continue);
        assert!(matches!(r.driver.phase, Phase::Closing { .. }));
        assert!(r.driver.phase.reads() && !r.driver.phase.writes());
        assert_eq!(
            peer_close(&mut r.peer).await,
            Some((1000, SERVER_CLOSING.to_owned()))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_peers_close_stops_writing_until_the_closing_deadline() {
        let mut r = rig(ConnConfig::default()).await;
        assert_eq!(r.driver.on_read(ended(ReadEnd::PeerClosed)), Flow::Continue);
        let until = Instant::now() + ConnConfig::default().close_timeout;
        assert_eq!(r.driver.phase, Phase::Closing { until });
        // No liveness check while closing, only the deadline.
        assert_eq!(r.driver.next_wake(), Some(until));
        tokio::time::advance(ConnConfig::default().close_timeout).await;
        assert_eq!(r.driver.on_timer().await, Flow::Stop);
    }

    #[tokio::test(start_paused = true)]
    async fn a_violation_drains_then_closes_with_its_code_whatever_the_handles_ask() {
        let mut r = rig(ConnConfig::default()).await;
        let step = ended(ReadEnd::Failed(Box::new(WsError::Protocol(
            "reserved bits set".into(),
        ))));
        assert_eq!(r.driver.on_read(step), Flow::Continue);
        assert!(matches!(&r.driver.phase, Phase::Draining { frame, .. } if frame.code == 1002));
        assert!(!r.driver.phase.reads() && r.driver.phase.writes());
        let Some(End::Failed(e)) = told(&mut r.inbound) else {
            panic!("the receiver is told the connection failed");
        };
        // The WebSocket error is kept as the cause, to its concrete type.
        let cause = std::error::Error::source(&e).and_then(|c| c.downcast_ref::<WsError>());
        assert!(
            matches!(cause, Some(WsError::Protocol(p)) if p == "reserved bits set"),
            "{e:?}"
        );
        let asked = CloseFrame::new(CloseCode::NORMAL, SERVER_CLOSING);
        assert_eq!(r.driver.on_close(Some(asked)).await, Flow::Stop);
        let (code, reason) = peer_close(&mut r.peer).await.unwrap_or_default();
        assert_eq!(code, 1002);
        assert!(reason.contains("reserved bits set"), "{reason}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_violation_past_its_deadline_is_answered_by_the_timer() {
        let mut r = rig(ConnConfig::default()).await;
        let step = ended(ReadEnd::Failed(Box::new(WsError::InvalidUtf8)));
        assert_eq!(r.driver.on_read(step), Flow::Continue);
        tokio::time::advance(ConnConfig::default().close_timeout).await;
        assert_eq!(r.driver.on_timer().await, Flow::Stop);
        assert_eq!(peer_close(&mut r.peer).await.map(|c| c.0), Some(1007));
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_peer_is_pinged_then_closed_with_1001_ping_timeout() {
        let config = ConnConfig {
            ping_interval: Some(Duration::from_secs(30)),
            pong_timeout: Duration::from_secs(10),
            ..ConnConfig::default()
        };
        let mut r = rig(config).await;
        let ping_at = r.driver.next_wake();
        assert_eq!(ping_at, Some(Instant::now() + Duration::from_secs(30)));
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(r.driver.on_timer().await, Flow::Continue);
        assert!(matches!(r.peer.next().await, Some(Ok(Message::Ping(_)))));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(r.driver.on_timer().await, Flow::Stop);
        assert_eq!(
            peer_close(&mut r.peer).await,
            Some((1001, "ping timeout".to_owned()))
        );
        assert!(matches!(told(&mut r.inbound), Some(End::Failed(_))));
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_closes_with_1001_and_tells_the_receiver() {
        let config = ConnConfig {
            ping_interval: None,
            idle_timeout: Some(Duration::from_secs(5)),
            ..ConnConfig::default()
        };
        let mut r = rig(config).await;
        // A timer that fires early finds nothing due.
        assert_eq!(r.driver.on_timer().await, Flow::Continue);
        assert_eq!(r.driver.phase, Phase::Open);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(r.driver.on_timer().await, Flow::Continue);
        assert!(matches!(r.driver.phase, Phase::Closing { .. }));
        assert_eq!(
            peer_close(&mut r.peer).await,
            Some((1001, "idle timeout".to_owned()))
        );
        assert!(matches!(
            told(&mut r.inbound),
            Some(End::PeerClosed(Some(f))) if f.code == 1001
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_proves_the_peer_alive() {
        let mut r = rig(ConnConfig::default()).await;
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(r.driver.on_read(data_run(1, 5)), Flow::Continue);
        assert_eq!(r.driver.inbox, Inbox::Open);
        assert_eq!(r.driver.clocks.heard, Instant::now());
        assert_eq!(r.driver.stats.counts().bytes_in, 5);
        // Nobody receiving: data is dropped, the slot stays open for the next.
        r.driver.on_room(false);
        assert_eq!(r.driver.on_read(data_run(1, 5)), Flow::Continue);
        assert_eq!(r.driver.inbox, Inbox::Discard);
    }

    #[tokio::test(start_paused = true)]
    async fn a_service_that_leaves_the_inbox_full_suspends_liveness_until_room_comes() {
        let mut r = rig(ConnConfig::default()).await;
        while r.driver.inbound.has_room() {
            r.driver.inbound.send(Inbound::Data(text("unread")));
        }
        let interval = ConnConfig::default().ping_interval.unwrap_or_default();
        tokio::time::advance(interval).await;
        // Due, but the service is behind, not the peer: no ping, no timer.
        assert_eq!(r.driver.on_timer().await, Flow::Continue);
        assert_eq!(r.driver.inbox, Inbox::Full);
        assert_eq!(r.driver.next_wake(), None);
        tokio::time::advance(interval * 3).await;
        // The reader reports room once the service takes a message, and the
        // peer gets a whole interval from then.
        assert!(r.inbound.next().await.is_some());
        let event = std::future::poll_fn(|cx| r.driver.poll_read(cx)).await;
        assert!(matches!(event, Event::Room(true)));
        assert_eq!(r.driver.on_room(true), Flow::Continue);
        assert_eq!(r.driver.next_wake(), Some(Instant::now() + interval));
        assert!(
            r.peer.next().now_or_never().is_none(),
            "nothing was written to the peer"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_that_waits_for_room_reports_the_room_before_reading() {
        let mut r = rig(ConnConfig::default()).await;
        while r.driver.inbound.has_room() {
            r.driver.inbound.send(Inbound::Data(text("unread")));
        }
        assert!(r.peer.send(Message::text("next")).await.is_ok());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(r.driver.poll_read(&mut cx).is_pending());
        assert_eq!(r.driver.inbox, Inbox::Waiting);
        // Liveness checks go on while the reader waits.
        assert!(r.driver.next_wake().is_some());
        assert!(r.inbound.next().await.is_some());
        let event = std::future::poll_fn(|cx| r.driver.poll_read(cx)).await;
        assert!(matches!(event, Event::Room(true)));
        assert_eq!(r.driver.on_room(true), Flow::Continue);
        let event = std::future::poll_fn(|cx| r.driver.poll_read(cx)).await;
        assert!(matches!(
            event,
            Event::Read(Reads {
                messages: 1,
                bytes: 4,
                ..
            })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_with_room_takes_no_separate_turn_to_reserve() {
        let mut r = rig(ConnConfig::default()).await;
        assert!(r.peer.send(Message::text("hello")).await.is_ok());
        let event = std::future::poll_fn(|cx| r.driver.poll_read(cx)).await;
        assert!(matches!(
            event,
            Event::Read(Reads {
                messages: 1,
                bytes: 5,
                ..
            })
        ));
        assert!(
            matches!(r.inbound.next().await, Some(Inbound::Data(d)) if d.as_bytes() == b"hello")
        );
    }

    /// Everything the inbox holds now, as text (and `<end>` for the end).
    fn drained(rx: &mut InboundReceiver) -> Vec<String> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut out = Vec::new();
        while let Poll::Ready(Some(item)) = rx.poll_next(&mut cx) {
            out.push(match item {
                Inbound::Data(d) => String::from_utf8_lossy(d.as_bytes()).into_owned(),
                Inbound::End(_) => "<end>".to_owned(),
            });
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn frames_ready_together_are_read_in_one_turn_control_frames_included() {
        let mut r = rig(ConnConfig::default()).await;
        for m in [
            Message::text("a"),
            Message::Ping(bytes::Bytes::from_static(b"p")),
            Message::text("bb"),
            Message::text("ccc"),
        ] {
            assert!(r.peer.send(m).await.is_ok());
        }
        let event = std::future::poll_fn(|cx| r.driver.poll_read(cx)).await;
        let Event::Read(run) = event else {
            panic!("a read");
        };
        assert_eq!((run.messages, run.bytes), (3, 6));
        assert!(run.heard && run.end.is_none() && !run.flooded);
        assert_eq!(r.driver.on_read(run), Flow::Continue);
        assert_eq!(r.driver.stats.counts().messages_in, 3);
        assert_eq!(r.driver.stats.counts().bytes_in, 6);
        assert_eq!(drained(&mut r.inbound), ["a", "bb", "ccc"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_of_control_frames_is_bounded_too() {
        let mut r = rig(ConnConfig::default()).await;
        for _ in 0..READ_RUN {
            assert!(r
                .peer
                .send(Message::Ping(bytes::Bytes::from_static(b"p")))
                .await
                .is_ok());
        }
        assert!(r.peer.send(Message::text("after")).await.is_ok());
        let event = std::future::poll_fn(|cx| r.driver.poll_read(cx)).await;
        assert!(
            matches!(
                event,
                Event::Read(Reads {
                    messages: 0,
                    heard: true,
                    ..
                })
            ),
            "the first turn reads the pings only"
        );
        let event = std::future::poll_fn(|cx| r.driver.poll_read(cx)).await;
        assert!(matches!(event, Event::Read(Reads { messages: 1, .. })));
        assert_eq!(drained(&mut r.inbound), ["after"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_stops_at_a_full_inbox_and_goes_on_once_there_is_room() {
        let mut r = rig(ConnConfig::default()).await;
        // The rig's inbox holds 5.
        for m in ["1", "2", "3", "4", "5", "6", "7"] {
            assert!(r.peer.send(Message::text(m)).await.is_ok());
        }
        let event = std::future::poll_fn(|cx| r.driver.poll_read(cx)).await;
        assert!(matches!(event, Event::Read(Reads { messages: 5, .. })));
        assert_eq!(r.driver.inbox, Inbox::Waiting);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(r.driver.poll_read(&mut cx).is_pending(), "no room, no read");
        assert_eq!(drained(&mut r.inbound), ["1", "2", "3", "4", "5"]);
        let event = std::future::poll_fn(|cx| r.driver.poll_read(cx)).await;
        assert!(matches!(event, Event::Room(true)));
        r.driver.on_room(true);
        let event = std::future::poll_fn(|cx| r.driver.poll_read(cx)).await;
        assert!(matches!(event, Event::Read(Reads { messages: 2, .. })));
        assert_eq!(drained(&mut r.inbound), ["6", "7"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_close_after_data_ends_the_run_behind_the_data() {
        let mut r = rig(ConnConfig::default()).await;
        assert!(r.peer.send(Message::text("last words")).await.is_ok());
        assert!(r.peer.close(None).await.is_ok());
        let event = std::future::poll_fn(|cx| r.driver.poll_read(cx)).await;
        let Event::Read(run) = event else {
            panic!("a read");
        };
        assert_eq!(run.messages, 1);
        assert!(matches!(run.end, Some(ReadEnd::PeerClosed)));
        assert_eq!(r.driver.on_read(run), Flow::Continue);
        assert!(matches!(r.driver.phase, Phase::Closing { .. }));
        assert_eq!(drained(&mut r.inbound), ["last words", "<end>"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_stops_at_the_message_that_overdraws_the_budget() {
        let config = ConnConfig {
            message_rate: Some(crate::conn::rate::Rate {
                per_second: 1.0,
                burst: 2,
            }),
            ..ConnConfig::default()
        };
        let mut r = rig(config).await;
        for m in ["1", "2", "3", "4"] {
            assert!(r.peer.send(Message::text(m)).await.is_ok());
        }
        let event = std::future::poll_fn(|cx| r.driver.poll_read(cx)).await;
        let Event::Read(run) = event else {
            panic!("a read");
        };
        assert_eq!(run.messages, 3);
        assert!(run.flooded);
        assert_eq!(r.driver.on_read(run), Flow::Continue);
        assert!(matches!(&r.driver.phase, Phase::Draining { frame, .. } if frame.code == 1008));
        // The burst is answered; the message that overdrew it is not
        // delivered, and nothing after it is read.
        assert_eq!(drained(&mut r.inbound), ["1", "2", "<end>"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_past_its_total_is_closed_without_the_message_that_passed_it() {
        let config = ConnConfig {
            max_received_bytes: Some(5),
            ..ConnConfig::default()
        };
        let mut r = rig(config).await;
        for m in ["12", "345", "6"] {
            assert!(r.peer.send(Message::text(m)).await.is_ok());
        }
        let event = std::future::poll_fn(|cx| r.driver.poll_read(cx)).await;
        let Event::Read(run) = event else {
            panic!("a read");
        };
        assert!(run.flooded);
        assert_eq!(r.driver.on_read(run), Flow::Continue);
        assert!(matches!(&r.driver.phase, Phase::Draining { frame, .. }
            if frame.code == 1008 && frame.reason == "byte limit of the connection exceeded (5 bytes)"));
        assert_eq!(drained(&mut r.inbound), ["12", "345", "<end>"]);
    }

    #[tokio::test(start_paused = true)]
    async fn eof_without_a_close_is_a_reset() {
        let mut r = rig(ConnConfig::default()).await;
        assert_eq!(r.driver.on_read(ended(ReadEnd::Eof)), Flow::Stop);
        let Some(End::Failed(e)) = told(&mut r.inbound) else {
            panic!("the receiver is told the connection failed");
        };
        assert!(e.to_string().contains("reset"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn finishing_ends_the_peers_stream() {
        let mut r = rig(ConnConfig::default()).await;
        r.driver.finish().await;
        drop(r.driver);
        // At most the close the WebSocket layer owes, then the end.
        let mut seen = Vec::new();
        while let Some(Ok(m)) = r.peer.next().await {
            seen.push(m);
        }
        assert!(
            seen.iter().all(|m| matches!(m, Message::Close(_))),
            "{seen:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn run_answers_a_message_and_ends_with_the_handles() {
        let r = rig(ConnConfig::default()).await;
        let Rig {
            driver,
            mut inbound,
            outbound,
            mut peer,
        } = r;
        let task = tokio::spawn(driver.run());
        assert!(peer.send(Message::text("ping?")).await.is_ok());
        let got = inbound.next().await;
        assert!(matches!(got, Some(Inbound::Data(d)) if d.as_bytes() == b"ping?"));
        assert!(outbound.push(text("pong"), Priority::Normal).is_ok());
        drop(outbound);
        assert_eq!(
            peer.next().await.and_then(Result::ok),
            Some(Message::text("pong"))
        );
        assert_eq!(peer_close(&mut peer).await.map(|c| c.0), Some(1000));
        drop(peer);
        assert!(task.await.is_ok());
    }
}
