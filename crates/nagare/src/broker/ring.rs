//! A room's recent messages in this process: numbered frames, the last
//! `capacity` of them kept within a byte budget, followed by local readers.
//!
//! The in-memory broker keeps a room's whole history in one ring. The Redis
//! broker keeps one per room this node follows, as a cache of the room's
//! stream in Redis: one message from Redis is appended once and read by every
//! local follower, as the same frame.
//!
//! A ring belongs to one epoch at a time. When the room restarts (its history
//! was lost, so its numbers start again), the ring is [reset](Ring::reset) to the
//! new epoch and its readers are told; when messages went missing and cannot be
//! fetched back, it [skips](Ring::skip_to) past them and readers that needed
//! them are told they are behind.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::ws::TextBytes;

/// A bounded, numbered ring of frames: at most `capacity` of them and, past
/// the newest, at most `max_bytes` of text. Clones share the ring.
#[derive(Clone)]
pub(crate) struct Ring {
    shared: Arc<Shared>,
}

struct Shared {
    capacity: usize,
    max_bytes: usize,
    state: Mutex<State>,
}

struct State {
    epoch: Arc<str>,
    /// Sequence number of `entries[0]` (or of the next message, when empty).
    first: u64,
    entries: VecDeque<TextBytes>,
    /// The text bytes of `entries`.
    bytes: usize,
    /// Readers waiting for the next message. A reader registers once per
    /// `round` (every change wakes them all and starts a new round), so an idle
    /// follower costs one waker here and nothing in its own future.
    waiters: Vec<Waker>,
    round: u64,
}

impl State {
    /// The number of the last message kept, or the one before `first` if none is.
    fn last(&self) -> u64 {
        self.first + self.entries.len() as u64 - 1
    }

    /// Takes the wakers of this round and starts the next.
    fn wake_all(&mut self) -> Vec<Waker> {
        self.round += 1;
        std::mem::take(&mut self.waiters)
    }
}

/// What a reader at `next` finds in the ring.
#[derive(Debug)]
pub(crate) enum Read {
    /// The message numbered `seq`.
    Message {
        /// Its number.
        seq: u64,
        /// Its plain frame.
        frame: TextBytes,
    },
    /// The ring moved to another epoch: the reader's numbers mean nothing now.
    Restarted {
        /// The new epoch.
        epoch: Arc<str>,
        /// The oldest message the ring keeps in it.
        first: u64,
    },
    /// The reader's next message is no longer kept; the oldest kept is `first`.
    Behind {
        /// The oldest message kept.
        first: u64,
    },
}

/// Where a ring stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Extent {
    pub(crate) epoch: Arc<str>,
    /// The oldest message kept (`last + 1` when none is).
    pub(crate) first: u64,
    /// The last message appended (0 before the first of the epoch).
    pub(crate) last: u64,
}

impl Ring {
    /// An empty ring in `epoch` whose next message is numbered `next`, keeping
    /// at most `capacity` messages and `max_bytes` of them (the newest is
    /// kept whatever its size).
    pub(crate) fn new(capacity: usize, max_bytes: usize, epoch: Arc<str>, next: u64) -> Self {
        let capacity = capacity.max(1);
        Ring {
            shared: Arc::new(Shared {
                capacity,
                max_bytes,
                state: Mutex::new(State {
                    epoch,
                    first: next.max(1),
                    entries: VecDeque::with_capacity(capacity.min(1024)),
                    bytes: 0,
                    waiters: Vec::new(),
                    round: 0,
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::broker::poison::lock(&self.shared.state)
    }

    /// How many messages are kept.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// How many other handles on the ring exist (its readers, for the owner).
    pub(crate) fn readers(&self) -> usize {
        Arc::strong_count(&self.shared) - 1
    }

    /// The epoch and the numbers kept.
    pub(crate) fn extent(&self) -> Extent {
        let st = self.lock();
        Extent {
            epoch: st.epoch.clone(),
            first: st.first,
            last: st.last(),
        }
    }

    /// The last `limit` messages kept, oldest first, with the ring's extent.
    pub(crate) fn tail(&self, limit: usize) -> (Extent, Vec<(u64, TextBytes)>) {
        let st = self.lock();
        let skip = st.entries.len().saturating_sub(limit);
        let messages = st
            .entries
            .iter()
            .enumerate()
            .skip(skip)
            .map(|(i, f)| (st.first + i as u64, f.clone()))
            .collect();
        let extent = Extent {
            epoch: st.epoch.clone(),
            first: st.first,
            last: st.last(),
        };
        (extent, messages)
    }

    /// Appends the next message, numbering it; returns its number.
    pub(crate) fn push(&self, frame: TextBytes) -> (Arc<str>, u64) {
        let mut st = self.lock();
        self.push_locked(&mut st, frame);
        let at = (st.epoch.clone(), st.last());
        let waiters = st.wake_all();
        drop(st);
        // Woken outside the lock, so followers on other threads can take the
        // message at once.
        waiters.into_iter().for_each(Waker::wake);
        at
    }

    /// Appends `frame`, first forgetting the oldest messages that would take
    /// the ring past its count or its bytes.
    fn push_locked(&self, st: &mut State, frame: TextBytes) {
        let size = frame.as_str().len();
        while !st.entries.is_empty()
            && (st.entries.len() >= self.shared.capacity || st.bytes + size > self.shared.max_bytes)
        {
            if let Some(old) = st.entries.pop_front() {
                st.bytes -= old.as_str().len();
            }
            st.first += 1;
        }
        st.bytes += size;
        st.entries.push_back(frame);
    }

    /// The text bytes of the messages kept.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Appends message `seq` of `epoch`, numbered elsewhere: `Ok` if it is the
    /// next one (or one already kept, which is ignored), else the number that
    /// should have come, so the caller can fetch the missing ones. A message of
    /// another epoch is refused the same way, with `expected` 0: the caller
    /// resets the ring first.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn append(&self, epoch: &str, seq: u64, frame: TextBytes) -> Result<(), u64> {
        let mut st = self.lock();
        if &*st.epoch != epoch {
            return Err(0);
        }
        let next = st.last() + 1;
        if seq < next {
            return Ok(());
        }
        if seq > next {
            return Err(next);
        }
        self.push_locked(&mut st, frame);
        let waiters = st.wake_all();
        drop(st);
        waiters.into_iter().for_each(Waker::wake);
        Ok(())
    }

    /// Moves the ring to `epoch`, empty, its next message numbered `next`.
    /// Readers of the old epoch are told the stream restarted.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn reset(&self, epoch: Arc<str>, next: u64) {
        let mut st = self.lock();
        if st.epoch == epoch {
            return;
        }
        st.epoch = epoch;
        st.entries.clear();
        st.bytes = 0;
        st.first = next.max(1);
        let waiters = st.wake_all();
        drop(st);
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Forgets everything before `next`, the number of the next message: the
    /// messages in between are lost, and readers that needed them are behind.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn skip_to(&self, next: u64) {
        let mut st = self.lock();
        if next <= st.last() + 1 {
            return;
        }
        st.entries.clear();
        st.bytes = 0;
        st.first = next;
        let waiters = st.wake_all();
        drop(st);
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Reads message `next` of `epoch`, or registers `cx` to be woken when the
    /// ring changes. `registered` is the reader's slot in the waiters, kept
    /// between calls so that polling again in the same round reuses it.
    pub(crate) fn poll_read(
        &self,
        epoch: &str,
        next: u64,
        registered: &mut Option<(u64, usize)>,
        cx: &mut Context<'_>,
    ) -> Poll<Read> {
        let mut st = self.lock();
        if &*st.epoch != epoch {
            return Poll::Ready(Read::Restarted {
                epoch: st.epoch.clone(),
                first: st.first,
            });
        }
        if next < st.first {
            return Poll::Ready(Read::Behind { first: st.first });
        }
        if let Some(frame) = st.entries.get((next - st.first) as usize) {
            return Poll::Ready(Read::Message {
                seq: next,
                frame: frame.clone(),
            });
        }
        match *registered {
            Some((round, slot)) if round == st.round => {
                if let Some(w) = st.waiters.get_mut(slot) {
                    if !w.will_wake(cx.waker()) {
                        w.clone_from(cx.waker());
                    }
                }
            }
            _ => {
                *registered = Some((st.round, st.waiters.len()));
                st.waiters.push(cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let extent = self.extent();
        f.debug_struct("Ring")
            .field("epoch", &extent.epoch)
            .field("first", &extent.first)
            .field("last", &extent.last)
            .field("capacity", &self.shared.capacity)
            .field("max_bytes", &self.shared.max_bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::wake_count::WakeCount;

    fn frame(s: &'static str) -> TextBytes {
        TextBytes::from(s)
    }

    fn read(ring: &Ring, epoch: &str, next: u64) -> Poll<Read> {
        let waker = Waker::noop();
        ring.poll_read(epoch, next, &mut None, &mut Context::from_waker(waker))
    }

    #[test]
    fn pushed_messages_are_numbered_and_the_oldest_are_forgotten() {
        let ring = Ring::new(2, usize::MAX, "e".into(), 1);
        assert_eq!(ring.extent().last, 0);
        for (i, f) in ["a", "b", "c"].into_iter().enumerate() {
            assert_eq!(ring.push(frame(f)).1, i as u64 + 1);
        }
        assert!(matches!(
            read(&ring, "e", 1),
            Poll::Ready(Read::Behind { first: 2 })
        ));
        assert!(
            matches!(read(&ring, "e", 3), Poll::Ready(Read::Message { seq: 3, ref frame }) if frame.as_str() == "c")
        );
        assert!(read(&ring, "e", 4).is_pending());
        let (extent, tail) = ring.tail(10);
        assert_eq!((extent.first, extent.last), (2, 3));
        assert_eq!(tail.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(ring.tail(1).1.len(), 1);
    }

    #[test]
    fn the_oldest_are_forgotten_past_the_byte_budget_but_the_newest_is_kept() {
        let ring = Ring::new(100, 10, "e".into(), 1);
        for f in ["aaaa", "bbbb", "cc"] {
            ring.push(frame(f));
        }
        assert_eq!((ring.extent().first, ring.bytes()), (1, 10));
        // 4 more bytes: "aaaa" goes.
        ring.push(frame("dddd"));
        assert_eq!((ring.extent().first, ring.bytes()), (2, 10));
        // One message over the budget is kept alone.
        ring.push(frame("eeeeeeeeeeee"));
        let (extent, tail) = ring.tail(10);
        assert_eq!((extent.first, extent.last, ring.bytes()), (5, 5, 12));
        assert_eq!(tail.len(), 1);
        ring.push(frame("f"));
        assert_eq!((ring.extent().first, ring.bytes()), (6, 1));
    }

    #[test]
    fn appends_numbered_elsewhere_report_what_is_missing() {
        let ring = Ring::new(8, usize::MAX, "e".into(), 11);
        assert_eq!(ring.append("e", 11, frame("a")), Ok(()));
        assert_eq!(ring.append("e", 11, frame("again")), Ok(()));
        assert_eq!(ring.append("e", 14, frame("d")), Err(12));
        assert_eq!(ring.append("other", 12, frame("b")), Err(0));
        ring.skip_to(14);
        assert_eq!(ring.append("e", 14, frame("d")), Ok(()));
        assert!(matches!(
            read(&ring, "e", 12),
            Poll::Ready(Read::Behind { first: 14 })
        ));
    }

    #[test]
    fn a_reset_tells_readers_of_the_old_epoch() {
        let ring = Ring::new(8, usize::MAX, "old".into(), 1);
        ring.push(frame("a"));
        ring.reset("new".into(), 1);
        assert!(matches!(
            read(&ring, "old", 2),
            Poll::Ready(Read::Restarted { ref epoch, first: 1 }) if &**epoch == "new"
        ));
        assert!(read(&ring, "new", 1).is_pending());
    }

    #[test]
    fn a_reader_polled_with_a_new_waker_is_woken_on_that_one_once_per_change() {
        let ring = Ring::new(4, usize::MAX, "e".into(), 1);
        let (first, w1) = WakeCount::waker();
        let (second, w2) = WakeCount::waker();
        let mut slot = None;
        let mut poll =
            |w: &Waker, next| ring.poll_read("e", next, &mut slot, &mut Context::from_waker(w));
        assert!(poll(&w1, 1).is_pending());
        // Polled again in the same round: the slot is reused, not duplicated.
        assert!(poll(&w2, 1).is_pending());
        assert!(poll(&w2, 1).is_pending());
        ring.push(frame("a"));
        assert_eq!((first.get(), second.get()), (0, 1));
    }
}
