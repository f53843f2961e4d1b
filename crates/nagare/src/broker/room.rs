//! Typed rooms: what services hold, so they publish and read messages of their
//! design's types and never the broker's frames.

use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::broker::feed::{Feed, FollowError};
use crate::broker::presence::{Member, Membership, PresenceFeed};
use crate::broker::{BoxFuture, BrokerError, Published, RoomConfig, RoomId, SharedBroker};
use crate::message::{to_text, Message};
use crate::resume::ResumePoint;
use crate::ws::TextBytes;

/// A family of rooms of messages `T` with the same settings, one per key (the
/// rooms of a chat, say, one per channel name). Generated code makes one per
/// method the design marks as a room.
pub struct Rooms<T> {
    broker: SharedBroker,
    prefix: Arc<str>,
    config: RoomConfig,
    /// History reads running now, across the family's rooms.
    reads: Arc<Semaphore>,
    _type: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Rooms<T> {
    fn clone(&self) -> Self {
        Rooms {
            broker: self.broker.clone(),
            prefix: self.prefix.clone(),
            config: self.config,
            reads: self.reads.clone(),
            _type: PhantomData,
        }
    }
}

impl<T: Message> Rooms<T> {
    /// Rooms named `<prefix>` (key `""`) and `<prefix>/<key>` on `broker`.
    pub fn new(broker: SharedBroker, prefix: impl Into<Arc<str>>, config: RoomConfig) -> Self {
        Rooms {
            broker,
            prefix: prefix.into(),
            config,
            reads: Arc::new(Semaphore::new(config.history_reads)),
            _type: PhantomData,
        }
    }

    /// The room of `key`.
    pub fn room(&self, key: &str) -> Room<T> {
        let name: Arc<str> = if key.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}/{key}", self.prefix).into()
        };
        Room {
            broker: self.broker.clone(),
            id: RoomId::new(name, self.config),
            reads: self.reads.clone(),
            _type: PhantomData,
        }
    }

    /// The rooms' settings.
    pub fn config(&self) -> &RoomConfig {
        &self.config
    }

    /// The same rooms with their settings changed by `change`.
    pub fn reconfigured(mut self, change: impl FnOnce(&mut RoomConfig)) -> Self {
        change(&mut self.config);
        self.reads = Arc::new(Semaphore::new(self.config.history_reads));
        self
    }

    /// The broker the rooms live on.
    pub fn broker(&self) -> &SharedBroker {
        &self.broker
    }
}

impl<T> std::fmt::Debug for Rooms<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooms")
            .field("prefix", &self.prefix)
            .field("config", &self.config)
            .field("broker", &self.broker)
            .finish()
    }
}

/// One room of messages `T`: publish into it, read its history, follow it
/// (a server stream does, with [`StreamSender::follow`](crate::StreamSender::follow)),
/// and see who is in it. Clones are the same room.
pub struct Room<T> {
    broker: SharedBroker,
    id: RoomId,
    /// History reads running now (shared with the room's family).
    reads: Arc<Semaphore>,
    _type: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Room<T> {
    fn clone(&self) -> Self {
        Room {
            broker: self.broker.clone(),
            id: self.id.clone(),
            reads: self.reads.clone(),
            _type: PhantomData,
        }
    }
}

impl<T: Message> Room<T> {
    /// The room `id` on `broker`, outside any family: its history reads are
    /// bounded by a count of its own (and its clones'), so a room made anew
    /// for every request bounds nothing; make rooms from a [`Rooms`] family
    /// to share the bound.
    pub fn new(broker: SharedBroker, id: RoomId) -> Self {
        Room {
            reads: Arc::new(Semaphore::new(id.config().history_reads)),
            broker,
            id,
            _type: PhantomData,
        }
    }

    /// The room's name and settings.
    pub fn id(&self) -> &RoomId {
        &self.id
    }

    /// Publishes a message (rendered without a view): it gets the room's next
    /// number and goes to every follower. Fails when the broker cannot take
    /// it: nothing was published then.
    ///
    /// `msg` is encoded before this returns, and the future borrows neither
    /// it nor the room: a caller can let both go before it waits.
    pub fn publish(&self, msg: &T) -> impl Future<Output = Result<Published, BrokerError>> + Send {
        let started = self.start_publish(msg);
        async move { started?.await }
    }

    /// A publisher for one producer of the room's messages (a stream method
    /// reading a client's messages, say): it keeps up to `depth` publishes in
    /// flight instead of waiting for each.
    pub fn publisher(&self, depth: usize) -> Publisher<T> {
        Publisher {
            room: self.clone(),
            in_flight: VecDeque::new(),
            depth: depth.max(1),
        }
    }

    /// Queues the publish of `msg` (its place in the room is taken now).
    fn start_publish(&self, msg: &T) -> Result<BoxFuture<'static, PublishResult>, BrokerError> {
        let frame = to_text(msg, None).map_err(|e| BrokerError::Encode(Arc::new(e)))?;
        Ok(self.broker.publish(&self.id, frame))
    }

    /// The last `limit` messages (at most the room's `history`), oldest
    /// first, with their numbers, read back one at a time as the returned
    /// [`RoomHistory`] is iterated.
    ///
    /// The messages are the frames the room keeps, shared rather than copied,
    /// and each is decoded only when it is taken, so a read holds one decoded
    /// message at a time. A read holds its frames until it is dropped (past
    /// the room's eviction of them): at most [`RoomConfig::history_reads`]
    /// run at once in this family of rooms, and one more fails with
    /// [`BrokerError::Busy`] (a stream method returning it closes with 1013,
    /// try again later).
    pub async fn history(&self, limit: usize) -> Result<RoomHistory<T>, BrokerError> {
        let permit = self.reads.clone().try_acquire_owned().map_err(|_| {
            BrokerError::Busy(format!(
                "{} history reads of room {} are running; try again later",
                self.id.config().history_reads,
                self.id
            ))
        })?;
        let history = self.broker.history(&self.id, limit).await?;
        Ok(RoomHistory {
            room: self.id.clone(),
            epoch: history.epoch,
            last: history.last,
            frames: history.messages.into_iter(),
            _permit: permit,
            _type: PhantomData,
        })
    }

    /// Follows the room from `from`; see [`Broker::follow`](super::Broker::follow).
    pub async fn follow(&self, from: Option<&ResumePoint>) -> Result<Feed, FollowError> {
        self.broker.follow(&self.id, from).await
    }

    /// Joins the room's presence as `member` until the membership is dropped.
    pub async fn join(&self, member: Member) -> Result<Membership, BrokerError> {
        self.broker.join(&self.id, member).await
    }

    /// Who is in the room, sorted by id (page with the ids).
    pub async fn members(&self) -> Result<Vec<Member>, BrokerError> {
        self.broker.members(&self.id).await
    }

    /// The joins and leaves from now on.
    pub async fn presence(&self) -> Result<PresenceFeed, BrokerError> {
        self.broker.presence(&self.id).await
    }
}

/// The last messages of a room, from [`Room::history`]: an iterator of
/// `(number, message)`, oldest first, each decoded as it is taken. A message
/// that cannot be read back (written by another program, or by an older
/// version of the design) is an error item; the ones after it still come.
pub struct RoomHistory<T> {
    room: RoomId,
    epoch: Arc<str>,
    last: u64,
    frames: std::vec::IntoIter<(u64, TextBytes)>,
    /// This read's place among the family's history reads.
    _permit: OwnedSemaphorePermit,
    _type: PhantomData<fn() -> T>,
}

impl<T> RoomHistory<T> {
    /// The room's epoch.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The number of the last message published in the room (0 before the
    /// first), which may be past the last message read.
    pub fn last_seq(&self) -> u64 {
        self.last
    }
}

impl<T: Message> Iterator for RoomHistory<T> {
    type Item = Result<(u64, T), BrokerError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (seq, frame) = self.frames.next()?;
        Some(
            T::decode(frame.as_str().trim_end().as_bytes(), None)
                .map(|m| (seq, m))
                .map_err(|e| {
                    BrokerError::Protocol(format!(
                        "message {seq} of room {} cannot be read back: {e}",
                        self.room
                    ))
                }),
        )
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.frames.size_hint()
    }
}

impl<T: Message> ExactSizeIterator for RoomHistory<T> {}

impl<T> std::fmt::Debug for RoomHistory<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomHistory")
            .field("room", &self.room)
            .field("epoch", &self.epoch)
            .field("last", &self.last)
            .field("left", &self.frames.len())
            .finish()
    }
}

type PublishResult = Result<Published, BrokerError>;

/// Publishes one producer's messages into a room, in order, without a round
/// trip to the broker per message: up to `depth` publishes are in flight, and
/// [`publish`](Self::publish) waits only when that many are. A failure comes
/// back from a later `publish` or from [`flush`](Self::flush), which waits for
/// every publish in flight; call it before the producer is done (dropping a
/// publisher leaves its publishes to finish on their own, unobserved).
pub struct Publisher<T> {
    room: Room<T>,
    in_flight: VecDeque<BoxFuture<'static, PublishResult>>,
    depth: usize,
}

impl<T: Message> Publisher<T> {
    /// Queues `msg`; waits for the oldest publish in flight when `depth` are.
    /// An error is the first failure among the publishes awaited: that one and
    /// every later one may not have been published.
    ///
    /// Publishes that are already done are not kept: an in-memory room
    /// completes each at once, so a producer that goes quiet holds no
    /// publish and no queue storage.
    ///
    /// `msg` is encoded before this returns and the future borrows only the
    /// publisher, so a caller can let the message go before it awaits: a
    /// connection's method that waits here then does not keep the message
    /// in its future as well.
    pub fn publish(
        &mut self,
        msg: &T,
    ) -> impl Future<Output = Result<(), BrokerError>> + Send + '_ {
        Publishing {
            next: Some(self.room.start_publish(msg)),
            publisher: self,
        }
    }

    /// Waits for every publish in flight; the first failure, if any.
    pub async fn flush(&mut self) -> Result<(), BrokerError> {
        while let Some(oldest) = self.in_flight.pop_front() {
            oldest.await?;
        }
        Ok(())
    }

    /// Publishes queued and not yet confirmed.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

/// The future of [`Publisher::publish`]: a type rather than an `async` block,
/// so that a method waiting in it keeps only the publisher and the started
/// publish (48 bytes, against 104 for the block).
struct Publishing<'a, T> {
    publisher: &'a mut Publisher<T>,
    /// The publish this call started (or why it could not), until it is
    /// done or joins those in flight.
    next: Option<Result<BoxFuture<'static, PublishResult>, BrokerError>>,
}

impl<T> Future for Publishing<'_, T> {
    type Output = Result<(), BrokerError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let publisher = &mut *this.publisher;
        let in_flight = &mut publisher.in_flight;
        if let Some(started) = this.next.take() {
            let mut next = started?;
            // The oldest publishes first, so that failures come back in order.
            while let Some(oldest) = in_flight.front_mut() {
                match oldest.as_mut().poll(cx) {
                    Poll::Ready(r) => {
                        in_flight.pop_front();
                        r?;
                    }
                    Poll::Pending => break,
                }
            }
            if in_flight.is_empty() {
                if let Poll::Ready(r) = next.as_mut().poll(cx) {
                    r?;
                    if in_flight.capacity() > 0 {
                        *in_flight = VecDeque::new();
                    }
                    return Poll::Ready(Ok(()));
                }
            }
            in_flight.push_back(next);
        }
        // Room for the next call: wait for the oldest while too many are in
        // flight (each stays queued until it is done, so a cancelled wait
        // loses none).
        while in_flight.len() > publisher.depth {
            let Some(oldest) = in_flight.front_mut() else {
                break;
            };
            let r = std::task::ready!(oldest.as_mut().poll(cx));
            in_flight.pop_front();
            r?;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T> std::fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("room", &self.room.id)
            .field("in_flight", &self.in_flight.len())
            .field("depth", &self.depth)
            .finish()
    }
}

impl<T> std::fmt::Debug for Room<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room").field("id", &self.id).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::MemoryBroker;

    #[tokio::test]
    async fn a_publisher_keeps_no_publish_that_is_done() {
        let room = in_memory();
        let mut publisher = room.publisher(4);
        for i in 0..3 {
            assert!(publisher.publish(&i).await.is_ok());
            // In memory a publish is done at once: nothing held, no storage.
            assert_eq!(publisher.in_flight(), 0);
            assert_eq!(publisher.in_flight.capacity(), 0);
        }
        assert!(publisher.flush().await.is_ok());
        let history = room.history(8).await.expect("history");
        let read: Result<Vec<_>, _> = history.map(|m| m.map(|(_, n)| n)).collect();
        assert_eq!(read.expect("readable"), [0, 1, 2]);
    }

    #[tokio::test]
    async fn history_reads_are_bounded_in_number_and_a_finished_one_frees_its_place() {
        let rooms = Rooms::<i64>::new(MemoryBroker::new().shared(), "numbers", RoomConfig::new(8))
            .reconfigured(|c| c.history_reads = 2);
        let (a, b) = (rooms.room("a"), rooms.room("b"));
        assert!(a.publish(&1).await.is_ok());
        let first = a.history(8).await.expect("first read");
        let second = b.history(8).await.expect("second read, another room");
        // The family's two places are taken: a third read is refused, not queued.
        match a.history(8).await {
            Err(e @ BrokerError::Busy(_)) => {
                assert!(e.is_temporary());
                assert!(
                    e.to_string().contains("2 history reads of room numbers/a"),
                    "{e}"
                );
            }
            other => panic!("busy expected, got {other:?}"),
        }
        drop(second);
        let third = a.history(8).await.expect("a place freed");
        assert_eq!(third.len(), 1);
        drop(first);
    }

    #[tokio::test]
    async fn history_is_read_from_the_frames_the_room_keeps_one_message_at_a_time() {
        let broker = MemoryBroker::new();
        let id = RoomId::new("shared", RoomConfig::new(8));
        let room = Room::<String>::new(broker.shared(), id.clone());
        for text in ["one", "two"] {
            assert!(room.publish(&text.to_owned()).await.is_ok());
        }
        // The broker hands out the frames the room keeps, not copies of them.
        use crate::broker::Broker;
        let kept = broker.history(&id, 8).await.expect("frames");
        let again = broker.history(&id, 8).await.expect("frames");
        for ((_, a), (_, b)) in kept.messages.iter().zip(&again.messages) {
            assert_eq!(a.as_str().as_ptr(), b.as_str().as_ptr());
        }
        let mut history = room.history(8).await.expect("history");
        assert_eq!((history.len(), history.last_seq()), (2, 2));
        assert_eq!(
            history.next().map(|m| m.ok()),
            Some(Some((1, "one".to_owned())))
        );
        assert_eq!(history.len(), 1);
    }

    // Compiles only while the futures borrow neither the message nor (for a
    // room's publish) the room: callers rely on letting them go first.
    #[tokio::test]
    async fn a_started_publish_keeps_neither_its_message_nor_its_room() {
        let publish = {
            let room = in_memory();
            let msg = 7;
            room.publish(&msg)
        };
        assert!(matches!(publish.await, Ok(Published { seq: 1, .. })));
        let mut publisher = in_memory().publisher(1);
        let wait = {
            let msg = 8;
            publisher.publish(&msg)
        };
        assert!(wait.await.is_ok());
    }

    /// A room of numbers in memory.
    fn in_memory() -> Room<i64> {
        Rooms::new(MemoryBroker::new().shared(), "numbers", RoomConfig::new(8)).room("")
    }

    /// A call of `publish` whose own publish is `next`.
    fn start<'a>(
        publisher: &'a mut Publisher<i64>,
        next: BoxFuture<'static, PublishResult>,
    ) -> Publishing<'a, i64> {
        Publishing {
            publisher,
            next: Some(Ok(next)),
        }
    }

    /// A publish the test completes, with the sender that completes it.
    fn pending_publish() -> (
        futures_channel::oneshot::Sender<PublishResult>,
        BoxFuture<'static, PublishResult>,
    ) {
        let (tx, rx) = futures_channel::oneshot::channel();
        let publish = Box::pin(async move { rx.await.unwrap_or(Err(BrokerError::Closed)) });
        (tx, publish)
    }

    /// A publisher of `depth` with `n` publishes in flight, and the senders
    /// that complete them, oldest first.
    fn with_in_flight(
        depth: usize,
        n: usize,
    ) -> (
        Publisher<i64>,
        Vec<futures_channel::oneshot::Sender<PublishResult>>,
    ) {
        let mut publisher = in_memory().publisher(depth);
        let done = (0..n)
            .map(|_| {
                let (done, publish) = pending_publish();
                publisher.in_flight.push_back(publish);
                done
            })
            .collect();
        (publisher, done)
    }

    fn published(seq: u64) -> PublishResult {
        Ok(Published {
            epoch: "e".into(),
            seq,
        })
    }

    #[test]
    fn a_publish_waits_while_too_many_are_in_flight_and_a_cancelled_wait_loses_none() {
        let (mut publisher, mut done) = with_in_flight(1, 1);
        let first_done = done.remove(0);
        let (second_done, second) = pending_publish();
        let (count, waker) = crate::conn::wake_count::WakeCount::waker();
        let mut cx = Context::from_waker(&waker);
        let mut call = start(&mut publisher, second);
        // Two in flight, one allowed: the call waits for the oldest.
        assert!(Pin::new(&mut call).poll(&mut cx).is_pending());
        drop(call);
        // Cancelled while waiting: both publishes are still in flight.
        assert_eq!(publisher.in_flight(), 2);
        let (third_done, third) = pending_publish();
        let mut call = start(&mut publisher, third);
        assert!(Pin::new(&mut call).poll(&mut cx).is_pending());
        assert!(first_done.send(published(1)).is_ok());
        assert!(count.get() > 0, "the oldest's completion wakes the call");
        // Still two in flight after the oldest: it waits for the second.
        assert!(Pin::new(&mut call).poll(&mut cx).is_pending());
        assert!(second_done.send(published(2)).is_ok());
        assert!(matches!(
            Pin::new(&mut call).poll(&mut cx),
            Poll::Ready(Ok(()))
        ));
        assert_eq!(publisher.in_flight(), 1);
        drop(third_done);
    }

    #[test]
    fn a_failure_in_flight_comes_back_from_the_next_publish_in_order() {
        // The second's sender is kept (in `done`): it stays in flight.
        let (mut publisher, mut done) = with_in_flight(4, 2);
        assert!(done
            .remove(0)
            .send(Err(BrokerError::Protocol("no".into())))
            .is_ok());
        let (_, third) = pending_publish();
        let mut call = start(&mut publisher, third);
        let (_, waker) = crate::conn::wake_count::WakeCount::waker();
        let mut cx = Context::from_waker(&waker);
        assert!(matches!(
            Pin::new(&mut call).poll(&mut cx),
            Poll::Ready(Err(BrokerError::Protocol(_)))
        ));
        // The failed one is gone; the one after it is still awaited.
        assert_eq!(publisher.in_flight(), 1);
    }
}
