//! The outbound queue of one connection: bounded, with four priority levels and a
//! policy for peers that read slower than the service writes.
//!
//! Order is kept within a level; a higher level overtakes everything queued below
//! it. So that low-priority messages are not starved by a steady stream of urgent
//! ones, after [`STARVATION_LIMIT`] messages in a row from higher levels while a
//! lower level waits, the oldest message of the lowest waiting level goes out.
//!
//! Memory is bounded whatever the peer does: the queue is full at `capacity`
//! messages or at `max_bytes` bytes of them, whichever comes first (a message
//! goes in while the queue is under both, so it holds at most `max_bytes` plus
//! one message, plus one per sender that was told there was room), and its
//! storage is released when it empties, so an idle connection holds none.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::ws::{CloseFrame, Data};

/// Consecutive messages taken from higher levels while a lower level waits,
/// before the lower level gets one. Lower means fairer to low priority; higher
/// means urgent traffic is delayed less.
pub const STARVATION_LIMIT: u32 = 32;

/// How urgent a message is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Bulk data that may wait (history backfill, metrics).
    Low = 0,
    /// Ordinary messages.
    #[default]
    Normal = 1,
    /// Messages that should overtake normal traffic (presence, acknowledgements).
    High = 2,
    /// Messages that must go first (alerts, control).
    Urgent = 3,
}

/// What a send does when the peer reads slower than the service writes and the
/// queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SlowConsumer {
    /// The send waits for room: backpressure to the service.
    #[default]
    Wait,
    /// The oldest message of the lowest non-empty level is dropped to make room
    /// (for feeds where only the latest state matters); drops are counted.
    DropOldest,
    /// The connection is closed with this code (1008 policy or 1013 try again
    /// later) and everything queued is discarded.
    Disconnect(u16),
}

/// What the driver takes from the queue.
#[derive(Debug)]
pub(crate) enum Outbound {
    Data(Data),
    Close(CloseFrame),
}

#[derive(Default)]
struct State {
    levels: [VecDeque<Data>; 4],
    len: usize,
    /// The bytes of the messages in `levels`.
    bytes: usize,
    /// The last data message, sent once every level is empty (the client's `null`).
    last: Option<Data>,
    /// Close after the queued data (or at once when `urgent_close`).
    close: Option<CloseFrame>,
    /// A close was requested: nothing more is queued.
    closing: bool,
    /// How the connection ended, when the peer ended it first (client side):
    /// what a refused send reports. Boxed: most connections never have one.
    ended: Option<Box<crate::error::StreamError>>,
    urgent_close: bool,
    /// The driver is gone: nothing will be sent.
    receiver_gone: bool,
    senders: usize,
    rx_waker: Option<Waker>,
    tx_wakers: Vec<Waker>,
    /// Messages taken in a row from a higher level while a lower one waited.
    streak: u32,
    dropped: u64,
    high_water: usize,
    /// A sender waiting for room was woken by a take since the receiver last
    /// asked (see [`OutboundReceiver::woke_a_sender`]).
    woke_sender: bool,
}

impl State {
    /// Nothing more may be queued: the driver is gone, a close was asked
    /// for, or the last message is queued.
    fn refuses(&self) -> bool {
        self.receiver_gone || self.closing || self.last.is_some()
    }

    /// Registers a sender's task to be woken when room frees up or the driver
    /// goes, once per task.
    fn wait_for_room(&mut self, cx: &Context<'_>) {
        if !self.tx_wakers.iter().any(|w| w.will_wake(cx.waker())) {
            self.tx_wakers.push(cx.waker().clone());
        }
    }
}

struct Shared {
    state: Mutex<State>,
    capacity: usize,
    max_bytes: usize,
    policy: SlowConsumer,
}

impl Shared {
    /// Whether the queue holds as many messages, or as many bytes, as it may.
    fn full(&self, st: &State) -> bool {
        st.len >= self.capacity || st.bytes >= self.max_bytes
    }

    /// Whether a message may go in now: there is room, or the policy makes
    /// room (by dropping, or by closing).
    fn admits(&self, st: &State) -> bool {
        !self.full(st) || self.policy != SlowConsumer::Wait
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent at every await point, so a panic in another
        // thread while holding the lock leaves nothing half-done.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The connection is gone or closing.
    Closed,
}

/// The sending side; clones share the queue.
pub(crate) struct OutboundSender {
    shared: Arc<Shared>,
}

/// The driver's side.
pub(crate) struct OutboundReceiver {
    shared: Arc<Shared>,
}

/// A queue of `capacity` messages and `max_bytes` bytes, with `policy` for a
/// full queue.
pub(crate) fn queue(
    capacity: usize,
    max_bytes: usize,
    policy: SlowConsumer,
) -> (OutboundSender, OutboundReceiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            senders: 1,
            ..State::default()
        }),
        capacity: capacity.max(1),
        max_bytes: max_bytes.max(1),
        policy,
    });
    (
        OutboundSender {
            shared: shared.clone(),
        },
        OutboundReceiver { shared },
    )
}

impl Clone for OutboundSender {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        OutboundSender {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for OutboundSender {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.senders -= 1;
        if st.senders == 0 {
            if let Some(w) = st.rx_waker.take() {
                w.wake();
            }
        }
    }
}

impl OutboundSender {
    /// Ready when a message can be queued now (room, or a policy that makes room).
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Refused>> {
        let mut st = self.shared.lock();
        if st.refuses() {
            return Poll::Ready(Err(Refused::Closed));
        }
        if self.shared.admits(&st) {
            return Poll::Ready(Ok(()));
        }
        st.wait_for_room(cx);
        Poll::Pending
    }

    /// Ready once the driver is gone (the connection ended); until then the task
    /// is woken when it goes (and, spuriously, when room frees up).
    pub(crate) fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.shared.lock();
        if st.receiver_gone {
            return Poll::Ready(());
        }
        st.wait_for_room(cx);
        Poll::Pending
    }

    /// Queues the message in `slot` when there is room (or a policy that
    /// makes room): `poll_ready` and `push` in one look at the queue, for a
    /// sender that has its message at hand. Without room the message stays
    /// in `slot` and the task is woken when room frees up.
    pub(crate) fn poll_push(
        &self,
        cx: &mut Context<'_>,
        slot: &mut Option<Data>,
        priority: Priority,
    ) -> Poll<Result<(), Refused>> {
        let mut st = self.shared.lock();
        if !st.refuses() && !self.shared.admits(&st) {
            st.wait_for_room(cx);
            return Poll::Pending;
        }
        match slot.take() {
            Some(data) => Poll::Ready(self.push_locked(&mut st, data, priority)),
            // Polled again after it was queued.
            None => Poll::Ready(Err(Refused::Closed)),
        }
    }

    /// Queues a message after `poll_ready` said so, applying the slow-consumer
    /// policy if the queue filled meanwhile.
    pub(crate) fn push(&self, data: Data, priority: Priority) -> Result<(), Refused> {
        let mut st = self.shared.lock();
        self.push_locked(&mut st, data, priority)
    }

    fn push_locked(&self, st: &mut State, data: Data, priority: Priority) -> Result<(), Refused> {
        if st.refuses() {
            return Err(Refused::Closed);
        }
        if self.shared.full(st) {
            match self.shared.policy {
                // Told there was room: one message over is the bound's slack.
                SlowConsumer::Wait => {}
                SlowConsumer::DropOldest => {
                    while self.shared.full(st) {
                        let Some(level) = st.levels.iter_mut().find(|l| !l.is_empty()) else {
                            break;
                        };
                        let Some(old) = level.pop_front() else {
                            break;
                        };
                        st.len -= 1;
                        st.bytes -= size_of(&old);
                        st.dropped += 1;
                        metrics::counter!("nagare_messages_dropped_total").increment(1);
                    }
                }
                SlowConsumer::Disconnect(code) => {
                    for level in &mut st.levels {
                        *level = VecDeque::new();
                    }
                    st.len = 0;
                    st.bytes = 0;
                    st.close = Some(CloseFrame::new(code, "slow consumer: send queue full"));
                    st.closing = true;
                    metrics::counter!("nagare_slow_consumers_total", "action" => "disconnect")
                        .increment(1);
                    st.urgent_close = true;
                    if let Some(w) = st.rx_waker.take() {
                        w.wake();
                    }
                    return Err(Refused::Closed);
                }
            }
        }
        st.bytes += size_of(&data);
        st.levels[priority as usize].push_back(data);
        st.len += 1;
        st.high_water = st.high_water.max(st.len);
        if let Some(w) = st.rx_waker.take() {
            w.wake();
        }
        Ok(())
    }

    /// Queues the last data message: it goes out after everything queued, whatever
    /// the priorities, and nothing can be queued after it.
    pub(crate) fn push_last(&self, data: Data) -> Result<(), Refused> {
        let mut st = self.shared.lock();
        if st.refuses() {
            return Err(Refused::Closed);
        }
        st.last = Some(data);
        if let Some(w) = st.rx_waker.take() {
            w.wake();
        }
        Ok(())
    }

    /// Asks the driver to close after the queued data; the first request wins.
    pub(crate) fn close(&self, frame: CloseFrame) -> Result<(), Refused> {
        let mut st = self.shared.lock();
        if st.receiver_gone {
            return Err(Refused::Closed);
        }
        if !st.closing {
            st.close = Some(frame);
            st.closing = true;
        }
        if let Some(w) = st.rx_waker.take() {
            w.wake();
        }
        Ok(())
    }

    /// Messages queued now.
    pub(crate) fn len(&self) -> usize {
        self.shared.lock().len
    }

    /// Most messages ever queued at once.
    pub(crate) fn high_water(&self) -> usize {
        self.shared.lock().high_water
    }

    /// Messages dropped by [`SlowConsumer::DropOldest`].
    pub(crate) fn dropped(&self) -> u64 {
        self.shared.lock().dropped
    }

    /// What a refused send reports: how the connection ended, when the
    /// driver said so, else that the stream is closed.
    pub(crate) fn refusal(&self) -> crate::error::StreamError {
        match &self.shared.lock().ended {
            Some(e) => (**e).clone(),
            None => crate::error::StreamError::StreamClosed,
        }
    }
}

impl OutboundReceiver {
    /// The peer ended the connection with `error` (`StreamClosed` for a
    /// clean end): nothing more is queued, and every later send reports it.
    pub(crate) fn end_with(&self, error: crate::error::StreamError) {
        let mut st = self.shared.lock();
        if st.ended.is_none() {
            st.ended = Some(Box::new(error));
        }
        st.closing = true;
        for w in st.tx_wakers.drain(..) {
            w.wake();
        }
    }

    /// The next item: data by priority, then the close; `None` when every sender
    /// is gone and nothing is left.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Outbound>> {
        let mut st = self.shared.lock();
        match take(&mut st) {
            Some(item) => Poll::Ready(Some(item)),
            None if st.senders == 0 => Poll::Ready(None),
            None => {
                match &mut st.rx_waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    slot => *slot = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }

    /// Messages queued now.
    pub(crate) fn len(&self) -> usize {
        self.shared.lock().len
    }

    /// The next item if one is ready (for write batching).
    pub(crate) fn try_next(&mut self) -> Option<Outbound> {
        take(&mut self.shared.lock())
    }

    /// Whether a sender that waited for room was woken since the last call:
    /// it may queue more at once, so a write batch that ran the queue empty
    /// gives it a turn before it flushes.
    pub(crate) fn woke_a_sender(&mut self) -> bool {
        std::mem::take(&mut self.shared.lock().woke_sender)
    }
}

impl Drop for OutboundReceiver {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.receiver_gone = true;
        for level in &mut st.levels {
            *level = VecDeque::new();
        }
        st.len = 0;
        st.bytes = 0;
        for w in st.tx_wakers.drain(..) {
            w.wake();
        }
    }
}

/// The bytes a queued message counts for.
fn size_of(data: &Data) -> usize {
    match data {
        Data::Text(t) => t.as_str().len(),
        Data::Binary(b) => b.len(),
    }
}

/// Takes the next item by priority, with the starvation guard; wakes a waiting
/// sender when room frees up.
fn take(st: &mut State) -> Option<Outbound> {
    if st.urgent_close {
        return st.close.take().map(Outbound::Close);
    }
    let highest = st.levels.iter().rposition(|l| !l.is_empty());
    let Some(highest) = highest else {
        if let Some(last) = st.last.take() {
            return Some(Outbound::Data(last));
        }
        return st.close.take().map(Outbound::Close);
    };
    let lowest = st
        .levels
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(highest);
    let level = if lowest < highest && st.streak >= STARVATION_LIMIT {
        st.streak = 0;
        lowest
    } else {
        if lowest < highest {
            st.streak += 1;
        } else {
            st.streak = 0;
        }
        highest
    };
    let data = st.levels[level].pop_front()?;
    st.len -= 1;
    st.bytes -= size_of(&data);
    if st.levels[level].is_empty() {
        // Give the storage back: idle connections hold none.
        st.levels[level] = VecDeque::new();
    }
    if st.len == 0 {
        // Room for everyone: wake every waiting sender, so none is left waiting
        // behind one whose send was cancelled after its wake-up.
        for w in st.tx_wakers.drain(..) {
            st.woke_sender = true;
            w.wake();
        }
    } else if let Some(w) = st.tx_wakers.pop() {
        st.woke_sender = true;
        w.wake();
    }
    Some(Outbound::Data(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::TextBytes;

    fn msg(s: &'static str) -> Data {
        Data::Text(TextBytes::from(s))
    }

    fn drain_one(rx: &mut OutboundReceiver) -> String {
        match rx.try_next() {
            Some(Outbound::Data(d)) => String::from_utf8_lossy(d.as_bytes()).into_owned(),
            other => panic!("a message expected, got {other:?}"),
        }
    }

    fn drain(rx: &mut OutboundReceiver) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(item) = rx.try_next() {
            match item {
                Outbound::Data(d) => out.push(String::from_utf8_lossy(d.as_bytes()).into_owned()),
                Outbound::Close(f) => out.push(format!("close {}", f.code)),
            }
        }
        out
    }

    #[test]
    fn a_push_with_the_message_at_hand_waits_for_room_and_keeps_it() {
        let (count, waker) = crate::conn::wake_count::WakeCount::waker();
        let mut cx = Context::from_waker(&waker);
        let (tx, mut rx) = queue(1, usize::MAX, SlowConsumer::Wait);
        let mut slot = Some(msg("a"));
        assert_eq!(
            tx.poll_push(&mut cx, &mut slot, Priority::Normal),
            Poll::Ready(Ok(()))
        );
        assert!(slot.is_none(), "queued");
        let mut slot = Some(msg("b"));
        assert!(tx
            .poll_push(&mut cx, &mut slot, Priority::Normal)
            .is_pending());
        assert!(slot.is_some(), "kept while there is no room");
        assert_eq!(drain(&mut rx), ["a"]);
        assert_eq!(count.get(), 1, "woken when room frees up");
        assert_eq!(
            tx.poll_push(&mut cx, &mut slot, Priority::Normal),
            Poll::Ready(Ok(()))
        );
        assert_eq!(drain(&mut rx), ["b"]);
        // A full queue that drops its oldest makes room at once.
        let (tx, mut rx) = queue(1, usize::MAX, SlowConsumer::DropOldest);
        for m in ["old", "new"] {
            let mut slot = Some(msg(m));
            assert_eq!(
                tx.poll_push(&mut cx, &mut slot, Priority::Normal),
                Poll::Ready(Ok(()))
            );
        }
        assert_eq!(drain(&mut rx), ["new"]);
        // A closed queue refuses, full or not.
        assert!(tx.close(CloseFrame::new(1000, "bye")).is_ok());
        let mut slot = Some(msg("late"));
        assert_eq!(
            tx.poll_push(&mut cx, &mut slot, Priority::Normal),
            Poll::Ready(Err(Refused::Closed))
        );
    }

    #[test]
    fn urgent_overtakes_and_order_holds_within_a_level() {
        let (tx, mut rx) = queue(16, usize::MAX, SlowConsumer::Wait);
        for (m, p) in [
            ("n1", Priority::Normal),
            ("l1", Priority::Low),
            ("n2", Priority::Normal),
            ("u1", Priority::Urgent),
            ("h1", Priority::High),
            ("u2", Priority::Urgent),
        ] {
            assert!(tx.push(msg(m), p).is_ok());
        }
        assert!(tx.close(CloseFrame::new(1000, "")).is_ok());
        assert_eq!(
            drain(&mut rx),
            ["u1", "u2", "h1", "n1", "n2", "l1", "close 1000"]
        );
    }

    #[test]
    fn low_priority_is_not_starved() {
        let (tx, mut rx) = queue(1000, usize::MAX, SlowConsumer::Wait);
        assert!(tx.push(msg("low"), Priority::Low).is_ok());
        for _ in 0..100 {
            assert!(tx.push(msg("urgent"), Priority::Urgent).is_ok());
        }
        let order = drain(&mut rx);
        let at = order.iter().position(|m| m == "low");
        assert_eq!(at, Some(STARVATION_LIMIT as usize));
    }

    #[test]
    fn drop_oldest_keeps_the_bound_and_counts() {
        let (tx, mut rx) = queue(3, usize::MAX, SlowConsumer::DropOldest);
        for m in ["a", "b", "c", "d", "e"] {
            assert!(tx.push(msg(m), Priority::Normal).is_ok());
            assert!(tx.len() <= 3);
        }
        assert_eq!(tx.dropped(), 2);
        assert_eq!(drain(&mut rx), ["c", "d", "e"]);
    }

    #[test]
    fn the_queue_is_full_at_its_bytes_before_its_count() {
        let (count, waker) = crate::conn::wake_count::WakeCount::waker();
        let mut cx = Context::from_waker(&waker);
        let (tx, mut rx) = queue(64, 10, SlowConsumer::Wait);
        // Under 10 bytes a message goes in, whatever its size.
        for m in ["aaaa", "bbbbbbbbbb"] {
            let mut slot = Some(msg(m));
            assert!(tx
                .poll_push(&mut cx, &mut slot, Priority::Normal)
                .is_ready());
        }
        // 14 bytes queued: full at 2 messages of 64.
        let mut slot = Some(msg("c"));
        assert!(tx
            .poll_push(&mut cx, &mut slot, Priority::Normal)
            .is_pending());
        assert_eq!(drain_one(&mut rx), "aaaa");
        // Still 10 bytes: still full.
        assert!(tx
            .poll_push(&mut cx, &mut slot, Priority::Normal)
            .is_pending());
        assert_eq!(drain_one(&mut rx), "bbbbbbbbbb");
        assert!(count.get() > 0);
        assert!(tx
            .poll_push(&mut cx, &mut slot, Priority::Normal)
            .is_ready());
        // A queue that drops makes room by bytes too.
        let (tx, mut rx) = queue(64, 10, SlowConsumer::DropOldest);
        for m in ["aaaa", "bbbb", "cccc", "dd"] {
            assert!(tx.push(msg(m), Priority::Normal).is_ok());
        }
        assert_eq!(tx.dropped(), 1);
        assert_eq!(drain(&mut rx), ["bbbb", "cccc", "dd"]);
    }

    #[test]
    fn disconnect_discards_and_closes_first() {
        let (tx, mut rx) = queue(2, usize::MAX, SlowConsumer::Disconnect(1013));
        assert!(tx.push(msg("a"), Priority::Normal).is_ok());
        assert!(tx.push(msg("b"), Priority::Normal).is_ok());
        assert_eq!(tx.push(msg("c"), Priority::Normal), Err(Refused::Closed));
        assert_eq!(drain(&mut rx), ["close 1013"]);
        assert_eq!(tx.push(msg("d"), Priority::Normal), Err(Refused::Closed));
    }
}
