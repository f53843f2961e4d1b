//! The receiving side of a connection: what the driver hands to the receiving
//! handle, the bounded queue between them, and how a connection's end is
//! reported to it.
//!
//! The queue has one sender (the driver) and one receiver (the handle), so it
//! is a `VecDeque` behind a mutex with a waker for each side: a message costs
//! a lock, no allocation (a general channel allocates a node per message and
//! a few more per connection).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

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

/// A queue of `capacity` messages from the driver to the receiving handle. The
/// end of the connection may always be queued, full or not.
pub(crate) fn queue(capacity: usize) -> (InboundSender, InboundReceiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            sender_waker: None,
            receiver_waker: None,
            sender_gone: false,
            receiver_gone: false,
        }),
        capacity: capacity.max(1),
    });
    (
        InboundSender {
            shared: shared.clone(),
        },
        InboundReceiver { shared },
    )
}

struct Shared {
    state: Mutex<State>,
    capacity: usize,
}

struct State {
    items: VecDeque<Inbound>,
    sender_waker: Option<Waker>,
    receiver_waker: Option<Waker>,
    sender_gone: bool,
    receiver_gone: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state whole.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Nobody receives any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReceiverGone;

/// The driver's side.
pub(crate) struct InboundSender {
    shared: Arc<Shared>,
}

impl InboundSender {
    /// Ready when a message can be queued; an error once nobody receives.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ReceiverGone>> {
        let mut st = self.shared.lock();
        if st.receiver_gone {
            return Poll::Ready(Err(ReceiverGone));
        }
        if st.items.len() < self.shared.capacity {
            return Poll::Ready(Ok(()));
        }
        match &mut st.sender_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Whether a message can be queued now, or nobody receives (what is read
    /// is then dropped): the liveness check's question, asked between turns.
    pub(crate) fn has_room(&self) -> bool {
        let st = self.shared.lock();
        st.receiver_gone || st.items.len() < self.shared.capacity
    }

    /// Queues `item` (after `poll_ready` said there was room, or the end,
    /// which always fits); dropped when nobody receives. Returns whether
    /// another message fits now, so that a reader with more to deliver needs
    /// no second look at the queue to reserve the next slot (the receiver
    /// only ever makes more room).
    pub(crate) fn send(&mut self, item: Inbound) -> bool {
        let mut st = self.shared.lock();
        if st.receiver_gone {
            return false;
        }
        st.items.push_back(item);
        if let Some(w) = st.receiver_waker.take() {
            w.wake();
        }
        st.items.len() < self.shared.capacity
    }
}

impl Drop for InboundSender {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.sender_gone = true;
        if let Some(w) = st.receiver_waker.take() {
            w.wake();
        }
    }
}

/// The receiving handle's side.
pub(crate) struct InboundReceiver {
    shared: Arc<Shared>,
}

impl InboundReceiver {
    /// The next item; `None` once the driver is gone and everything it queued
    /// was taken.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Inbound>> {
        let mut st = self.shared.lock();
        if let Some(item) = st.items.pop_front() {
            if st.items.is_empty() {
                // An idle connection holds no queue storage.
                st.items = VecDeque::new();
            }
            if let Some(w) = st.sender_waker.take() {
                w.wake();
            }
            return Poll::Ready(Some(item));
        }
        if st.sender_gone {
            return Poll::Ready(None);
        }
        match &mut st.receiver_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next item.
    #[cfg(test)]
    pub(crate) async fn next(&mut self) -> Option<Inbound> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }
}

impl Drop for InboundReceiver {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.receiver_gone = true;
        st.items = VecDeque::new();
        if let Some(w) = st.sender_waker.take() {
            w.wake();
        }
    }
}

/// The receiving end of a connection, at the level of raw messages.
pub(crate) struct RawReceiver {
    rx: InboundReceiver,
    /// Set once the end was seen, so later calls keep reporting it. Boxed: every
    /// open connection holds this field, only an ended one fills it.
    ended: Option<Box<End>>,
}

impl RawReceiver {
    pub(crate) fn new(rx: InboundReceiver) -> Self {
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
        let end = match self.rx.poll_next(cx) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::wake_count::WakeCount;
    use crate::ws::{Data, TextBytes};

    fn data(s: &'static str) -> Inbound {
        Inbound::Data(Data::Text(TextBytes::from(s)))
    }

    #[test]
    fn the_queue_holds_its_capacity_then_the_end_and_wakes_the_driver_for_room() {
        let (mut tx, mut rx) = queue(2);
        let (count, waker) = WakeCount::waker();
        let mut cx = Context::from_waker(&waker);
        for (m, another_fits) in [("a", true), ("b", false)] {
            assert_eq!(tx.poll_ready(&mut cx), Poll::Ready(Ok(())));
            assert_eq!(tx.send(data(m)), another_fits);
        }
        assert!(tx.poll_ready(&mut cx).is_pending(), "full at its capacity");
        // The end fits whatever the queue holds.
        tx.send(Inbound::End(End::PeerClosed(None)));
        assert!(matches!(
            rx.poll_next(&mut cx),
            Poll::Ready(Some(Inbound::Data(_)))
        ));
        assert_eq!(count.get(), 1, "the driver is woken for room");
        assert!(matches!(
            rx.poll_next(&mut cx),
            Poll::Ready(Some(Inbound::Data(_)))
        ));
        assert!(matches!(
            rx.poll_next(&mut cx),
            Poll::Ready(Some(Inbound::End(_)))
        ));
        drop(tx);
        assert!(matches!(rx.poll_next(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn a_receiver_that_left_refuses_room_and_drops_what_is_sent() {
        let (mut tx, rx) = queue(2);
        let mut cx = Context::from_waker(Waker::noop());
        drop(rx);
        assert_eq!(tx.poll_ready(&mut cx), Poll::Ready(Err(ReceiverGone)));
        tx.send(data("nobody"));
        assert!(tx.shared.lock().items.is_empty());
    }

    #[test]
    fn a_receiver_waiting_is_woken_by_a_message_and_by_the_driver_leaving() {
        let (mut tx, mut rx) = queue(2);
        let (count, waker) = WakeCount::waker();
        let mut cx = Context::from_waker(&waker);
        assert!(rx.poll_next(&mut cx).is_pending());
        tx.send(data("a"));
        assert_eq!(count.get(), 1);
        assert!(matches!(rx.poll_next(&mut cx), Poll::Ready(Some(_))));
        assert!(rx.poll_next(&mut cx).is_pending());
        drop(tx);
        assert_eq!(count.get(), 2);
        assert!(matches!(rx.poll_next(&mut cx), Poll::Ready(None)));
    }
}
