//! A write batch: the message the driver took from the outbound queue and
//! every message queued behind it, written into the socket's buffer and
//! flushed once, within the connection's write timeout.
//!
//! Owned state polled by the driver from its event poll, not a future: a
//! batch the socket takes at once (the common case: its buffer has room, the
//! kernel takes the flush) is written within the turn that found the
//! message, with no future built and nothing allocated. Only a batch that
//! must wait (the socket is full, or a producer gets a turn) is kept, boxed,
//! until a later turn finishes it.

use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::conn::outbound::{Outbound, OutboundReceiver};
use crate::conn::timing::{Limit, TimedOut};
use crate::ws::{CloseFrame, Data, Socket, WsError};

/// What a batch wrote, and the close frame queued behind it, if one was.
#[derive(Debug, Default)]
pub(super) struct Written {
    pub(super) messages: u64,
    pub(super) bytes: u64,
    pub(super) close: Option<CloseFrame>,
}

/// How a batch ended: written, failed, or (`Err`) kept waiting by the
/// socket past the limit.
pub(super) type Outcome = Result<Result<Written, WsError>, TimedOut>;

/// One batch in progress: see the module documentation.
pub(super) struct Batch {
    /// The message to write next, taken from the queue (or the first one).
    next: Option<Data>,
    written: Written,
    /// The batch gave a producer a turn before flushing: look at the queue
    /// again first.
    refill: bool,
    /// Turns given so far: a producer that never stops must not keep one
    /// batch (its flush, its counts, its write timeout) open for ever.
    refills: u8,
    /// The write timeout. Counted from the first time the socket makes the
    /// batch wait, not from a producer's turn, which waits on nothing: a
    /// timer per turn cost a timer-wheel entry and a wake of the runtime's
    /// driver each (70,000 per fan-out run of 10,000 subscribers).
    limit: Limit,
}

/// The most turns one batch gives producers before it flushes (each up to a
/// queue's worth of messages).
const REFILLS: u8 = 4;

impl Batch {
    pub(super) fn new(first: Data, limit: Duration) -> Self {
        Batch {
            next: Some(first),
            written: Written::default(),
            refill: false,
            refills: 0,
            limit: Limit::new(limit),
        }
    }

    /// Takes the next queued item into the batch: a message to write, or the
    /// close that ends it.
    fn take_next(&mut self, outbound: &mut OutboundReceiver) {
        match outbound.try_next() {
            Some(Outbound::Data(d)) => self.next = Some(d),
            Some(Outbound::Close(f)) => self.written.close = Some(f),
            None => {}
        }
    }

    /// Writes what it can of the batch, then flushes it. `Pending` when the
    /// socket must drain first or a producer gets a turn; `cx` is woken to
    /// go on. Must not be polled again once it is ready.
    pub(super) fn poll_write<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        socket: &mut Socket<S>,
        outbound: &mut OutboundReceiver,
        cx: &mut Context<'_>,
    ) -> Poll<Outcome> {
        if self.next.is_none() && self.refill {
            // Back from the turn given to a producer: what it queued joins
            // this batch.
            self.refill = false;
            self.take_next(outbound);
        }
        // Once `next` is empty, every message is in the socket's buffer and
        // only the flush is left.
        while let Some(data) = self.next.take() {
            match socket.poll_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Ok(Err(e))),
                Poll::Pending => {
                    self.next = Some(data);
                    return self.limit.poll_expired(cx).map(Err);
                }
            }
            tracing::trace!(bytes = data.len(), "message out");
            self.written.messages += 1;
            self.written.bytes += data.len() as u64;
            if let Err(e) = socket.start_send(data) {
                return Poll::Ready(Ok(Err(e)));
            }
            self.take_next(outbound);
            if self.next.is_none()
                && self.written.close.is_none()
                && self.refills < REFILLS
                && outbound.woke_a_sender()
            {
                // The queue ran empty while a producer waited for room (a
                // room's follower with a burst to send, say): it may refill
                // the queue within this task's turn. One more poll before the
                // flush lets that go out in the same writes, instead of a
                // queue's worth at a time with a small flush after each.
                self.refill = true;
                self.refills += 1;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        match socket.poll_flush(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(Ok(std::mem::take(&mut self.written)))),
            Poll::Ready(Err(e)) => Poll::Ready(Ok(Err(e))),
            Poll::Pending => self.limit.poll_expired(cx).map(Err),
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::protocol::Role;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::WebSocketStream;

    use super::*;
    use crate::conn::outbound::{queue, OutboundSender, Priority, SlowConsumer};
    use crate::ws::TextBytes;
    use std::task::{Context, Waker};

    /// The write timeout of the tests' batches.
    const LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

    fn text(s: &str) -> Data {
        Data::Text(TextBytes::from(s.to_owned()))
    }

    /// A socket whose peer never reads (its pipe holds every test's
    /// messages), and a queue of one, full, with a producer waiting for room.
    async fn full_queue_and_a_waiting_producer(
        producer: &Waker,
    ) -> (
        Socket<tokio::io::DuplexStream>,
        tokio::io::DuplexStream,
        OutboundSender,
        OutboundReceiver,
    ) {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let socket = Socket::new(WebSocketStream::from_raw_socket(ours, Role::Server, None).await);
        let (tx, rx) = queue(1, usize::MAX, SlowConsumer::Wait);
        assert!(tx.push(text("queued"), Priority::Normal).is_ok());
        assert!(tx
            .poll_ready(&mut Context::from_waker(producer))
            .is_pending());
        (socket, theirs, tx, rx)
    }

    #[tokio::test]
    async fn a_batch_gives_a_producer_it_freed_a_turn_before_it_flushes() {
        let (producer, producer_waker) = crate::conn::wake_count::WakeCount::waker();
        let (mut socket, _peer, waiting, mut rx) =
            full_queue_and_a_waiting_producer(&producer_waker).await;
        let mut batch = Batch::new(text("first"), LIMIT);
        let (task, task_waker) = crate::conn::wake_count::WakeCount::waker();
        let mut cx = Context::from_waker(&task_waker);
        // The queue ran empty and woke the producer: the batch waits a turn.
        assert!(batch.poll_write(&mut socket, &mut rx, &mut cx).is_pending());
        assert_eq!(producer.get(), 1);
        assert_eq!(task.get(), 1, "the batch asks to be polled again at once");
        assert!(
            !batch.limit.started(),
            "a turn waits on nothing: no write timer"
        );
        assert!(waiting.push(text("refill"), Priority::Normal).is_ok());
        // What the producer queued in its turn is part of the same batch.
        match batch.poll_write(&mut socket, &mut rx, &mut cx) {
            Poll::Ready(Ok(Ok(written))) => assert_eq!(written.messages, 3),
            other => panic!("the batch should be written, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_producer_that_never_stops_gets_a_few_turns_then_the_batch_ends() {
        let (_, producer_waker) = crate::conn::wake_count::WakeCount::waker();
        let (mut socket, _peer, tx, mut rx) =
            full_queue_and_a_waiting_producer(&producer_waker).await;
        let mut producer = Context::from_waker(&producer_waker);
        let mut batch = Batch::new(text("first"), LIMIT);
        let (_, task_waker) = crate::conn::wake_count::WakeCount::waker();
        let mut cx = Context::from_waker(&task_waker);
        let mut turns = 0;
        let written = loop {
            match batch.poll_write(&mut socket, &mut rx, &mut cx) {
                Poll::Ready(r) => break r,
                Poll::Pending => {
                    turns += 1;
                    assert!(turns <= REFILLS, "the batch never ends");
                    // The producer refills the queue and waits for room again.
                    assert!(tx.push(text("more"), Priority::Normal).is_ok());
                    assert!(tx.poll_ready(&mut producer).is_pending());
                }
            }
        };
        assert_eq!(turns, REFILLS);
        match written {
            Ok(Ok(w)) => assert_eq!(w.messages, 2 + u64::from(REFILLS)),
            other => panic!("the batch should be written, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_batch_larger_than_the_pipe_waits_and_loses_nothing() {
        // A pipe far smaller than the batch, and a batch larger than the
        // socket's write buffer (128 KiB): the writes wait for the peer to
        // read, several times, mid-batch.
        let (ours, theirs) = tokio::io::duplex(256);
        let mut socket =
            Socket::new(WebSocketStream::from_raw_socket(ours, Role::Server, None).await);
        let mut peer = WebSocketStream::from_raw_socket(theirs, Role::Client, None).await;
        let (tx, mut rx) = queue(64, usize::MAX, SlowConsumer::Wait);
        let sent: Vec<String> = (1..=50)
            .map(|i| format!("message {i:03} {}", "x".repeat(8 * 1024)))
            .collect();
        for m in &sent[1..] {
            assert!(tx
                .push(Data::Text(TextBytes::from(m.clone())), Priority::Normal)
                .is_ok());
        }
        assert!(tx.close(CloseFrame::new(1000, "done")).is_ok());
        let first = Data::Text(TextBytes::from(sent[0].clone()));
        let mut batch = Batch::new(first, LIMIT);
        let write = std::future::poll_fn(|cx| batch.poll_write(&mut socket, &mut rx, cx));
        let read = async {
            let mut got = Vec::new();
            while got.len() < sent.len() {
                match peer.next().await {
                    Some(Ok(Message::Text(t))) => got.push(t.as_str().to_owned()),
                    other => panic!("a text message expected, got {other:?}"),
                }
            }
            got
        };
        let (written, got) = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            tokio::join!(write, read)
        })
        .await
        .expect("the batch and the reader finish");
        let written = written
            .expect("the batch is written in time")
            .expect("the batch is written");
        assert_eq!(got, sent);
        assert_eq!(written.messages, 50);
        assert_eq!(written.close.map(|f| f.code), Some(1000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_does_not_read_times_the_batch_out() {
        // Nobody reads the pipe: the batch waits on the socket, and the
        // limit counts from then.
        let (ours, _theirs) = tokio::io::duplex(256);
        let mut socket =
            Socket::new(WebSocketStream::from_raw_socket(ours, Role::Server, None).await);
        let (_tx, mut rx) = queue(4, usize::MAX, SlowConsumer::Wait);
        let big = Data::Text(TextBytes::from("x".repeat(64 * 1024)));
        let started = tokio::time::Instant::now();
        let mut batch = Batch::new(big, LIMIT);
        let written = std::future::poll_fn(|cx| batch.poll_write(&mut socket, &mut rx, cx)).await;
        assert!(matches!(written, Err(TimedOut)), "{written:?}");
        assert_eq!(started.elapsed(), LIMIT);
    }
}
