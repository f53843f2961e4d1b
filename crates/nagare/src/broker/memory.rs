//! The embedded broker: every room in this process's memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use crate::broker::feed::{Feed, FollowError};
use crate::broker::poison::lock;
use crate::broker::presence::{Member, Membership, PresenceEvent, PresenceFeed, PRESENCE_BACKLOG};
use crate::broker::ring::Ring;
use crate::broker::{BoxFuture, Broker, BrokerError, History, Published, RoomId};
use crate::resume::{new_epoch, ResumePoint};
use crate::ws::TextBytes;

/// Rooms in this process's memory: the default broker, with no outside
/// service.
///
/// Each room keeps its last `history` messages (its [`RoomConfig`](super::RoomConfig)).
/// Rooms are numbered in an epoch drawn when the room is first used, so a
/// process restart starts every room again in a new epoch, and returning
/// followers are told so. A room nobody follows, with nobody present and no
/// message for its `history_ttl`, is forgotten. Clones share the rooms.
#[derive(Clone, Debug, Default)]
pub struct MemoryBroker {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    rooms: Mutex<Rooms>,
}

#[derive(Debug, Default)]
struct Rooms {
    by_name: HashMap<Arc<str>, Arc<RoomState>>,
    swept: Option<Instant>,
}

#[derive(Debug)]
struct RoomState {
    ring: Ring,
    ttl: Duration,
    last_publish: Mutex<Instant>,
    members: Mutex<HashMap<String, Member>>,
    presence: broadcast::Sender<PresenceEvent>,
}

/// How often idle rooms are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

impl MemoryBroker {
    /// A broker without rooms.
    pub fn new() -> Self {
        Self::default()
    }

    /// The broker as a [`SharedBroker`](super::SharedBroker).
    pub fn shared(&self) -> super::SharedBroker {
        Arc::new(self.clone())
    }

    /// How many rooms are kept.
    pub fn rooms(&self) -> usize {
        self.lock().by_name.len()
    }

    fn lock(&self) -> MutexGuard<'_, Rooms> {
        lock(&self.inner.rooms)
    }

    /// The room's state, created on first use.
    fn room(&self, id: &RoomId) -> Arc<RoomState> {
        self.room_at(id, Instant::now())
    }

    /// [`room`](Self::room), at `now` (read once by a caller that needs it too).
    fn room_at(&self, id: &RoomId, now: Instant) -> Arc<RoomState> {
        let mut rooms = self.lock();
        if rooms
            .swept
            .is_none_or(|t| now.duration_since(t) >= SWEEP_EVERY)
        {
            rooms.swept = Some(now);
            rooms.by_name.retain(|_, r| !r.idle(now));
        }
        // Looked up by reference first: a room that exists (every publish but
        // the first) costs no copy of its name.
        if let Some(room) = rooms.by_name.get(&*id.name) {
            return room.clone();
        }
        let config = id.config();
        let room = Arc::new(RoomState {
            ring: Ring::new(config.history, config.history_bytes, new_epoch().into(), 1),
            ttl: config.history_ttl,
            last_publish: Mutex::new(now),
            members: Mutex::new(HashMap::new()),
            presence: broadcast::channel(PRESENCE_BACKLOG).0,
        });
        rooms.by_name.insert(id.name.clone(), room.clone());
        room
    }
}

impl RoomState {
    /// Nobody holds the room (the map's reference is the only one), nobody is
    /// present, and nothing was published for the history TTL.
    fn idle(self: &Arc<Self>, now: Instant) -> bool {
        Arc::strong_count(self) == 1
            && self.ring.readers() == 0
            && lock(&self.members).is_empty()
            && now.duration_since(*lock(&self.last_publish)) >= self.ttl
    }
}

impl Broker for MemoryBroker {
    fn publish(
        &self,
        room: &RoomId,
        frame: TextBytes,
    ) -> BoxFuture<'static, Result<Published, BrokerError>> {
        let now = Instant::now();
        let state = self.room_at(room, now);
        *lock(&state.last_publish) = now;
        let (epoch, seq) = state.ring.push(frame);
        Box::pin(std::future::ready(Ok(Published { epoch, seq })))
    }

    fn follow<'a>(
        &'a self,
        room: &'a RoomId,
        from: Option<&'a ResumePoint>,
    ) -> BoxFuture<'a, Result<Feed, FollowError>> {
        let state = self.room(room);
        Box::pin(std::future::ready(Feed::open(
            state.ring.clone(),
            from,
            None,
        )))
    }

    fn history<'a>(
        &'a self,
        room: &'a RoomId,
        limit: usize,
    ) -> BoxFuture<'a, Result<History, BrokerError>> {
        let (extent, messages) = self.room(room).ring.tail(limit);
        Box::pin(std::future::ready(Ok(History {
            epoch: extent.epoch,
            last: extent.last,
            messages,
        })))
    }

    fn join<'a>(
        &'a self,
        room: &'a RoomId,
        member: Member,
    ) -> BoxFuture<'a, Result<Membership, BrokerError>> {
        let state = self.room(room);
        lock(&state.members).insert(member.id.clone(), member.clone());
        let _ = state.presence.send(PresenceEvent::Join(member.clone()));
        let id = member.id.clone();
        let membership = Membership::new(member, move || {
            if let Some(m) = lock(&state.members).remove(&id) {
                let _ = state.presence.send(PresenceEvent::Leave(m));
            }
        });
        Box::pin(std::future::ready(Ok(membership)))
    }

    fn members<'a>(&'a self, room: &'a RoomId) -> BoxFuture<'a, Result<Vec<Member>, BrokerError>> {
        let state = self.room(room);
        let mut members: Vec<Member> = lock(&state.members).values().cloned().collect();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        Box::pin(std::future::ready(Ok(members)))
    }

    fn presence<'a>(
        &'a self,
        room: &'a RoomId,
    ) -> BoxFuture<'a, Result<PresenceFeed, BrokerError>> {
        let state = self.room(room);
        let feed = PresenceFeed::new(state.presence.subscribe(), Some(state.clone()));
        Box::pin(std::future::ready(Ok(feed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::{FeedItem, RoomConfig};

    fn room(name: &str, history: usize) -> RoomId {
        RoomId::new(name, RoomConfig::new(history))
    }

    #[tokio::test]
    async fn rooms_are_numbered_apart_and_followed_in_order() {
        let broker = MemoryBroker::new();
        let (a, b) = (room("a", 8), room("b", 8));
        let mut feed = broker.follow(&a, None).await.expect("follow");
        for i in 1..=3 {
            let p = broker
                .publish(&a, TextBytes::from("1\n"))
                .await
                .expect("publish");
            assert_eq!(p.seq, i);
        }
        assert_eq!(
            broker
                .publish(&b, TextBytes::from("1\n"))
                .await
                .expect("b")
                .seq,
            1
        );
        for i in 1..=3 {
            assert!(matches!(feed.next().await, Ok(FeedItem::Message { seq, .. }) if seq == i));
        }
        let history = broker.history(&a, 2).await.expect("history");
        assert_eq!(history.last, 3);
        assert_eq!(
            history.messages.iter().map(|m| m.0).collect::<Vec<_>>(),
            [2, 3]
        );
        assert_eq!(broker.rooms(), 2);
    }

    #[tokio::test]
    async fn members_join_and_leave_with_events() {
        let broker = MemoryBroker::new();
        let r = room("r", 1);
        let mut events = broker.presence(&r).await.expect("presence");
        let alice = broker
            .join(&r, Member::new(Some("{\"user\":\"alice\"}".into())))
            .await
            .expect("join");
        let bob = broker.join(&r, Member::new(None)).await.expect("join");
        assert_eq!(broker.members(&r).await.expect("members").len(), 2);
        let alice_member = alice.member().clone();
        drop(alice);
        let members = broker.members(&r).await.expect("members");
        assert_eq!(members, vec![bob.member().clone()]);
        use crate::broker::PresenceChange::Event;
        assert_eq!(
            events.next().await,
            Some(Event(PresenceEvent::Join(alice_member.clone())))
        );
        assert_eq!(
            events.next().await,
            Some(Event(PresenceEvent::Join(bob.member().clone())))
        );
        assert_eq!(
            events.next().await,
            Some(Event(PresenceEvent::Leave(alice_member)))
        );
    }
}
