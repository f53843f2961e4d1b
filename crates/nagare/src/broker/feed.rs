//! A follower's view of a room: where it starts, then every message in order,
//! read from the ring this process keeps for the room.

use std::any::Any;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::broker::ring::{Extent, Read, Ring};
use crate::broker::BrokerError;
use crate::resume::ResumePoint;
use crate::ws::TextBytes;

/// Why a room cannot be followed from where a client stands.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FollowError {
    /// The messages after the client's point are no longer kept.
    #[error("message {wanted} is gone; the oldest kept is {oldest}")]
    Behind {
        /// The first message the client needs.
        wanted: u64,
        /// The oldest message the room keeps.
        oldest: u64,
    },
    /// The client claims messages the room never had.
    #[error("resume point {offered} is past the last message, {last}")]
    Ahead {
        /// The client's resume point.
        offered: u64,
        /// The last message published.
        last: u64,
    },
    /// The broker failed.
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// What a feed reads next.
#[derive(Clone, Debug)]
pub enum FeedItem {
    /// The room's message numbered `seq`, as a plain frame.
    Message {
        /// Its number in the room's epoch.
        seq: u64,
        /// Compact JSON and `\n`.
        frame: TextBytes,
    },
    /// The room restarted (its history was lost) while it was followed: its
    /// numbers start again in `epoch`, and the next message is `after + 1`.
    Restarted {
        /// The new epoch.
        epoch: Arc<str>,
        /// The number the next message follows.
        after: u64,
    },
}

/// A follower of one room, from a starting point: see [`Broker::follow`](super::Broker::follow).
pub struct Feed {
    ring: Ring,
    epoch: Arc<str>,
    next: u64,
    registered: Option<(u64, usize)>,
    /// The point the client offered when the room had moved to another epoch.
    restarted_from: Option<ResumePoint>,
    /// Keeps the broker's shared state for this room (its subscription) alive
    /// while the feed is.
    _hold: Option<Arc<dyn Any + Send + Sync>>,
}

impl Feed {
    /// Opens a feed on `ring` from `from`; see [`Broker::follow`](super::Broker::follow).
    pub(crate) fn open(
        ring: Ring,
        from: Option<&ResumePoint>,
        hold: Option<Arc<dyn Any + Send + Sync>>,
    ) -> Result<Feed, FollowError> {
        let Extent { epoch, first, last } = ring.extent();
        let (next, restarted_from) = match from {
            None => (last + 1, None),
            Some(p) if *p.epoch != *epoch => (first, Some(p.clone())),
            Some(p) if p.seq > last => {
                return Err(FollowError::Ahead {
                    offered: p.seq,
                    last,
                })
            }
            Some(p) if p.seq + 1 < first => {
                return Err(FollowError::Behind {
                    wanted: p.seq + 1,
                    oldest: first,
                })
            }
            Some(p) => (p.seq + 1, None),
        };
        Ok(Feed {
            ring,
            epoch,
            next,
            registered: None,
            restarted_from,
            _hold: hold,
        })
    }

    /// The room's epoch and the number of the last message taken (or of the
    /// message the feed starts after): the position a `nagare.v1` client is
    /// told first.
    pub fn position(&self) -> ResumePoint {
        ResumePoint {
            epoch: self.epoch.to_string(),
            seq: self.next - 1,
        }
    }

    /// The point the client offered, when the room had restarted since: the
    /// feed starts at the oldest message of the new epoch, and what came after
    /// that point in the old one may be lost.
    pub fn restarted_from(&self) -> Option<&ResumePoint> {
        self.restarted_from.as_ref()
    }

    /// The next item, waiting for one; an error when the feed fell so far
    /// behind that its next message is gone. Cancel safe.
    pub async fn next(&mut self) -> Result<FeedItem, FollowError> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Poll form of [`next`](Self::next).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<FeedItem, FollowError>> {
        let read = self
            .ring
            .poll_read(&self.epoch, self.next, &mut self.registered, cx);
        Poll::Ready(match std::task::ready!(read) {
            Read::Message { seq, frame } => {
                self.next = seq + 1;
                Ok(FeedItem::Message { seq, frame })
            }
            Read::Restarted { epoch, first } => {
                self.epoch = epoch.clone();
                self.next = first;
                self.registered = None;
                Ok(FeedItem::Restarted {
                    epoch,
                    after: first - 1,
                })
            }
            Read::Behind { first } => Err(FollowError::Behind {
                wanted: self.next,
                oldest: first,
            }),
        })
    }
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("epoch", &self.epoch)
            .field("next", &self.next)
            .field("restarted_from", &self.restarted_from)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(epoch: &str, seq: u64) -> ResumePoint {
        ResumePoint {
            epoch: epoch.into(),
            seq,
        }
    }

    fn seqs(feed: &mut Feed, n: usize) -> Vec<u64> {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        (0..n)
            .map(|_| match feed.poll_next(&mut cx) {
                Poll::Ready(Ok(FeedItem::Message { seq, .. })) => seq,
                other => panic!("a message expected, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn feeds_start_live_after_a_point_or_at_the_oldest_of_a_new_epoch() {
        let ring = Ring::new(3, usize::MAX, "e".into(), 1);
        for f in ["1", "2", "3", "4"] {
            ring.push(TextBytes::from(f));
        }
        let live = Feed::open(ring.clone(), None, None).expect("live");
        assert_eq!(live.position(), point("e", 4));
        let mut resumed = Feed::open(ring.clone(), Some(&point("e", 2)), None).expect("resumed");
        assert_eq!(seqs(&mut resumed, 2), [3, 4]);
        let mut restarted = Feed::open(ring.clone(), Some(&point("gone", 9)), None).expect("new");
        assert_eq!(restarted.position(), point("e", 1));
        assert_eq!(restarted.restarted_from(), Some(&point("gone", 9)));
        assert_eq!(seqs(&mut restarted, 3), [2, 3, 4]);
        assert!(matches!(
            Feed::open(ring.clone(), Some(&point("e", 0)), None),
            Err(FollowError::Behind {
                wanted: 1,
                oldest: 2
            })
        ));
        assert!(matches!(
            Feed::open(ring, Some(&point("e", 5)), None),
            Err(FollowError::Ahead {
                offered: 5,
                last: 4
            })
        ));
    }

    #[test]
    fn a_feed_follows_its_room_into_a_new_epoch() {
        let ring = Ring::new(8, usize::MAX, "old".into(), 1);
        let mut feed = Feed::open(ring.clone(), None, None).expect("live");
        ring.push(TextBytes::from("1"));
        assert_eq!(seqs(&mut feed, 1), [1]);
        ring.reset("new".into(), 1);
        ring.push(TextBytes::from("a"));
        let waker = std::task::Waker::noop();
        match feed.poll_next(&mut Context::from_waker(waker)) {
            Poll::Ready(Ok(FeedItem::Restarted { epoch, after: 0 })) => {
                assert_eq!(&*epoch, "new")
            }
            other => panic!("a restart expected, got {other:?}"),
        }
        assert_eq!(seqs(&mut feed, 1), [1]);
        assert_eq!(feed.position(), point("new", 1));
    }
}
