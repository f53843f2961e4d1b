//! The replay log of a resumable stream: messages numbered 1, 2, 3... as they are
//! published, the last `capacity` of them kept, so that a client that lost its
//! connection gets what it missed when it comes back.
//!
//! One log is one stream (a room, a topic: whatever the design's resume key
//! names). Publishers append to it; each connection follows it with a [`Cursor`]
//! from where its client stands. [`crate::StreamSender::follow`] does that for a
//! service method, with the resume point the client sent.
//!
//! # Example
//!
//! ```no_run
//! # async fn example(mut stream: nagare::ServerStream<String>, log: nagare::ReplayLog<String>) -> Result<(), nagare::StreamError> {
//! // A publisher, anywhere:
//! log.publish("hello".to_owned());
//! // A service method of a resumable endpoint: replays what the client missed,
//! // then forwards new messages until the client leaves or the log is closed.
//! stream.follow(&log).await
//! # }
//! ```
//!
//! The log lives in memory: a process restart starts a new log with a new epoch,
//! and clients that come back with the old epoch are told they are too far behind
//! (close 4010) so they re-sync.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use crate::error::StreamError;
use crate::message::Message;
use crate::resume::wire::{new_epoch, ResumePoint};
use crate::ws::{Data, TextBytes};

/// Why a client cannot follow a log from where it stands.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The client's numbers belong to another epoch: the stream restarted.
    #[error("the stream restarted (epoch {offered} is gone, now {current})")]
    Restarted {
        /// The epoch the client had.
        offered: String,
        /// The log's epoch.
        current: String,
    },
    /// The messages after the client's point are no longer kept.
    #[error("message {wanted} is gone; the oldest kept is {oldest}")]
    Behind {
        /// The first message the client needs.
        wanted: u64,
        /// The oldest message the log keeps.
        oldest: u64,
    },
    /// The client claims messages the log never had.
    #[error("resume point {offered} is past the last message, {last}")]
    Ahead {
        /// The client's resume point.
        offered: u64,
        /// The last message published.
        last: u64,
    },
}

impl From<ReplayError> for StreamError {
    fn from(e: ReplayError) -> Self {
        StreamError::TooFarBehind(e.to_string())
    }
}

/// A bounded, numbered log of one stream's messages. Clones share the log.
pub struct ReplayLog<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for ReplayLog<T> {
    fn clone(&self) -> Self {
        ReplayLog {
            shared: self.shared.clone(),
        }
    }
}

struct Shared<T> {
    epoch: String,
    capacity: usize,
    state: Mutex<State<T>>,
}

struct State<T> {
    /// Sequence number of `entries[0]`.
    first: u64,
    entries: VecDeque<Arc<Entry<T>>>,
    closed: bool,
    /// Cursors waiting for the next message. A cursor registers once per
    /// `round` (a publish wakes them all and starts a new round), so an idle
    /// follower costs one waker here and nothing in its own future.
    waiters: Vec<Waker>,
    round: u64,
}

impl<T> State<T> {
    /// Takes the wakers of this round and starts the next.
    fn wake_all(&mut self) -> Vec<Waker> {
        self.round += 1;
        std::mem::take(&mut self.waiters)
    }
}

impl<T> State<T> {
    fn last(&self) -> u64 {
        self.first + self.entries.len() as u64 - 1
    }
}

impl<T> ReplayLog<T> {
    /// An empty log that keeps the last `capacity` messages (at least one), with a
    /// fresh random epoch. Each kept message costs its size plus an `Arc`; the
    /// capacity bounds how long a client can be away (capacity divided by the
    /// publish rate) and still resume.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        ReplayLog {
            shared: Arc::new(Shared {
                epoch: new_epoch(),
                capacity,
                state: Mutex::new(State {
                    first: 1,
                    entries: VecDeque::with_capacity(capacity.min(1024)),
                    closed: false,
                    waiters: Vec::new(),
                    round: 0,
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.shared)
    }

    /// The epoch: which instance of the stream the sequence numbers belong to.
    pub fn epoch(&self) -> &str {
        &self.shared.epoch
    }

    /// How many messages are kept.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// The sequence number of the last message published (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.lock().last()
    }

    /// Appends a message and returns its sequence number; the oldest kept message
    /// is forgotten when the log is full. Followers are woken.
    pub fn publish(&self, msg: T) -> u64 {
        let (seq, waiters) = {
            let mut st = self.lock();
            if st.entries.len() == self.shared.capacity {
                st.entries.pop_front();
                st.first += 1;
            }
            st.entries.push_back(Arc::new(Entry {
                msg: Arc::new(msg),
                frame: OnceLock::new(),
            }));
            (st.last(), st.wake_all())
        };
        // Woken outside the lock, so followers on other threads can take the
        // message at once.
        waiters.into_iter().for_each(Waker::wake);
        seq
    }

    /// Ends the stream: followers finish what is kept for them, then end (their
    /// clients see close 1000).
    pub fn close(&self) {
        let waiters = {
            let mut st = self.lock();
            st.closed = true;
            st.wake_all()
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    /// A cursor from `from` (the client's resume point: the next message is the
    /// one after it) or, without one, from the next message published.
    pub fn cursor(&self, from: Option<&ResumePoint>) -> Result<Cursor<T>, ReplayError> {
        let st = self.lock();
        let last = st.last();
        let next = match from {
            None => last + 1,
            Some(p) if p.epoch != self.shared.epoch => {
                return Err(ReplayError::Restarted {
                    offered: p.epoch.clone(),
                    current: self.shared.epoch.clone(),
                })
            }
            Some(p) if p.seq > last => {
                return Err(ReplayError::Ahead {
                    offered: p.seq,
                    last,
                })
            }
            Some(p) if p.seq + 1 < st.first => {
                return Err(ReplayError::Behind {
                    wanted: p.seq + 1,
                    oldest: st.first,
                })
            }
            Some(p) => p.seq + 1,
        };
        drop(st);
        Ok(Cursor {
            shared: self.shared.clone(),
            next,
            registered: None,
        })
    }
}

fn lock<T>(shared: &Shared<T>) -> MutexGuard<'_, State<T>> {
    // The state is consistent after every statement that holds the lock, so a
    // panic elsewhere while it was held leaves nothing half-done.
    shared
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One kept message, with its plain frame once a follower without a view has
/// encoded it: every other such follower sends the same bytes instead of
/// encoding the message again (for `nagare.v1` followers, copied into their
/// envelope).
pub(crate) struct Entry<T> {
    pub(crate) msg: Arc<T>,
    frame: OnceLock<Option<TextBytes>>,
}

impl<T: Message> Entry<T> {
    /// The message's frame without a view (compact JSON and `\n`), encoded by
    /// the first caller; `None` if it cannot be encoded (each caller then gets
    /// the error from encoding it itself).
    pub(crate) fn plain_frame(&self) -> Option<&TextBytes> {
        self.frame
            .get_or_init(|| match crate::message::to_frame(&*self.msg, None) {
                Ok(Data::Text(t)) => Some(t),
                _ => None,
            })
            .as_ref()
    }
}

/// What a cursor reads: the next message with its sequence number, `None` once
/// the log is closed and read to the end, or why it cannot go on.
pub type Next<T> = Result<Option<(u64, Arc<T>)>, ReplayError>;

/// [`Next`] with the kept entry.
pub(crate) type NextEntry<T> = Result<Option<(u64, Arc<Entry<T>>)>, ReplayError>;

/// A reader of a [`ReplayLog`], at its own position.
pub struct Cursor<T> {
    shared: Arc<Shared<T>>,
    next: u64,
    /// The round and slot of this cursor's waker in the log's waiters.
    registered: Option<(u64, usize)>,
}

impl<T> Cursor<T> {
    /// The sequence number of the last message taken (or of the resume point).
    pub fn position(&self) -> u64 {
        self.next - 1
    }

    /// The epoch of the log.
    pub fn epoch(&self) -> &str {
        &self.shared.epoch
    }

    /// The next message with its sequence number, waiting for one to be
    /// published; `Ok(None)` once the log is closed and everything was taken; an
    /// error when this cursor fell so far behind that its next message is gone.
    /// Cancel safe.
    pub async fn next(&mut self) -> Next<T> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Poll form of [`next`](Self::next).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Next<T>> {
        self.poll_entry(cx)
            .map(|r| r.map(|o| o.map(|(seq, e)| (seq, e.msg.clone()))))
    }

    /// [`poll_next`](Self::poll_next) with the kept entry, for followers that
    /// share its frame.
    pub(crate) fn poll_entry(&mut self, cx: &mut Context<'_>) -> Poll<NextEntry<T>> {
        let mut st = lock(&self.shared);
        if self.next < st.first {
            return Poll::Ready(Err(ReplayError::Behind {
                wanted: self.next,
                oldest: st.first,
            }));
        }
        if let Some(entry) = st.entries.get((self.next - st.first) as usize) {
            let seq = self.next;
            self.next += 1;
            return Poll::Ready(Ok(Some((seq, entry.clone()))));
        }
        if st.closed {
            return Poll::Ready(Ok(None));
        }
        match self.registered {
            Some((round, slot)) if round == st.round => {
                if let Some(w) = st.waiters.get_mut(slot) {
                    if !w.will_wake(cx.waker()) {
                        w.clone_from(cx.waker());
                    }
                }
            }
            _ => {
                self.registered = Some((st.round, st.waiters.len()));
                st.waiters.push(cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

impl<T> std::fmt::Debug for ReplayLog<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayLog")
            .field("epoch", &self.shared.epoch)
            .field("capacity", &self.shared.capacity)
            .field("last_seq", &self.last_seq())
            .finish()
    }
}

impl<T> std::fmt::Debug for Cursor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("epoch", &self.shared.epoch)
            .field("position", &self.position())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(log: &ReplayLog<u32>, seq: u64) -> ResumePoint {
        ResumePoint {
            epoch: log.epoch().to_owned(),
            seq,
        }
    }

    #[tokio::test]
    async fn cursors_start_live_or_after_a_resume_point_and_see_every_message_once() {
        let log = ReplayLog::new(4);
        assert_eq!(log.last_seq(), 0);
        let mut live = log.cursor(None).expect("cursor");
        for i in 1..=3 {
            assert_eq!(log.publish(i * 10), u64::from(i));
        }
        let mut resumed = log.cursor(Some(&point(&log, 1))).expect("cursor");
        for seq in 1..=3u64 {
            let (s, m) = live.next().await.expect("ok").expect("some");
            assert_eq!((s, *m), (seq, seq as u32 * 10));
        }
        let (s, _) = resumed.next().await.expect("ok").expect("some");
        assert_eq!(s, 2);
        // A cursor waits for the next publish.
        let waiter = tokio::spawn(async move { live.next().await.map(|o| o.map(|(s, _)| s)) });
        tokio::task::yield_now().await;
        log.publish(40);
        assert_eq!(waiter.await.expect("join"), Ok(Some(4)));
        log.close();
        assert_eq!(resumed.next().await.map(|o| o.map(|(s, _)| s)), Ok(Some(3)));
        assert_eq!(resumed.next().await.map(|o| o.map(|(s, _)| s)), Ok(Some(4)));
        assert_eq!(resumed.next().await.map(|o| o.map(|(s, _)| s)), Ok(None));
    }

    #[tokio::test]
    async fn resume_points_outside_the_log_are_refused() {
        let log = ReplayLog::new(2);
        for i in 0..5 {
            log.publish(i);
        }
        // Kept: 4 and 5.
        assert!(log.cursor(Some(&point(&log, 3))).is_ok());
        assert_eq!(
            log.cursor(Some(&point(&log, 2))).err(),
            Some(ReplayError::Behind {
                wanted: 3,
                oldest: 4
            })
        );
        assert_eq!(
            log.cursor(Some(&point(&log, 6))).err(),
            Some(ReplayError::Ahead {
                offered: 6,
                last: 5
            })
        );
        let other = ResumePoint {
            epoch: "other".into(),
            seq: 5,
        };
        assert!(matches!(
            log.cursor(Some(&other)),
            Err(ReplayError::Restarted { .. })
        ));
    }

    /// Counts its wakes.
    struct Counter(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn a_cursor_polled_with_a_new_waker_is_woken_on_that_one_once_per_publish() {
        let log = ReplayLog::new(4);
        let mut cursor = log.cursor(None).expect("cursor");
        let first = Arc::new(Counter(Default::default()));
        let second = Arc::new(Counter(Default::default()));
        let (w1, w2) = (Waker::from(first.clone()), Waker::from(second.clone()));
        assert!(cursor.poll_next(&mut Context::from_waker(&w1)).is_pending());
        // Polled again in the same round: the slot is reused, not duplicated.
        assert!(cursor.poll_next(&mut Context::from_waker(&w2)).is_pending());
        assert!(cursor.poll_next(&mut Context::from_waker(&w2)).is_pending());
        log.publish(1);
        let count = |c: &Arc<Counter>| c.0.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!((count(&first), count(&second)), (0, 1));
        assert!(matches!(
            cursor.poll_next(&mut Context::from_waker(&w2)),
            Poll::Ready(Ok(Some((1, _))))
        ));
        assert!(cursor.poll_next(&mut Context::from_waker(&w2)).is_pending());
        log.close();
        assert_eq!(count(&second), 2);
        assert!(matches!(
            cursor.poll_next(&mut Context::from_waker(&w2)),
            Poll::Ready(Ok(None))
        ));
    }

    #[tokio::test]
    async fn a_cursor_overtaken_by_the_log_is_told_so() {
        let log = ReplayLog::new(2);
        let mut slow = log.cursor(None).expect("cursor");
        for i in 0..3 {
            log.publish(i);
        }
        assert_eq!(
            slow.next().await.err(),
            Some(ReplayError::Behind {
                wanted: 1,
                oldest: 2
            })
        );
    }
}
