//! Rooms in Redis, shared by every server process on the same Redis (feature
//! `redis`).
//!
//! # Layout
//!
//! Each room has, under one hash tag (`{room}`, so one Redis Cluster slot):
//!
//! | key | what |
//! |---|---|
//! | `<prefix>:{room}:meta` | hash `{epoch, top}`: the room's epoch and last number |
//! | `<prefix>:{room}:history` | stream of the last `history` messages, entry id `<seq>-0` |
//! | `<prefix>:{room}:live` | channel: every message as it is published |
//! | `<prefix>:{room}:members` | hash of members (presence), by id |
//! | `<prefix>:{room}:expiry` | sorted set of members by expiry time |
//! | `<prefix>:{room}:presence` | channel: joins and leaves |
//!
//! A publish is one Lua script: it takes the next number (`HINCRBY top`),
//! appends to the stream, refreshes the TTLs and publishes on the channel, so a
//! number is assigned once, for every node. When the meta hash is missing (a
//! new room, or Redis lost its data), the script draws a new epoch: lost data
//! shows as a restart, never as numbers used twice.
//!
//! # Following
//!
//! A node subscribes to a room's channel once, for all its local followers, and
//! keeps the room's recent messages in memory (as many as the room's history):
//! one message from Redis is read by every local follower as the same frame.
//! The node subscribes first, then reads the history, so nothing published in
//! between is missed. A gap in the numbers on the channel (messages lost while
//! the connection to Redis was down) is filled from the stream; what the stream
//! no longer has is reported to the followers that needed it (4010). After a
//! reconnection to Redis, every followed room is read again up to its last
//! number. The node unsubscribes with the last local follower.
//!
//! # Failures
//!
//! Every command has a deadline ([`RedisConfig::command_timeout`]): while Redis
//! is unreachable, publishing fails at once with
//! [`BrokerError::Unavailable`] (a stream
//! method returning it closes with 1013), followers stay connected and get
//! what was published once Redis is back.

mod hub;
mod presence;
mod publish;
mod scripts;
mod value;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo, ProtocolVersion};

use crate::broker::feed::{Feed, FollowError};
use crate::broker::presence::{Member, Membership, PresenceFeed};
use crate::broker::{BoxFuture, Broker, BrokerError, History, Published, RoomId};
use crate::resume::{new_epoch, ResumePoint};
use crate::ws::TextBytes;

use self::hub::Hubs;

/// How to reach Redis, and how long to wait for it.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]` (the `redis` crate's URL
    /// syntax; `rediss://` is not enabled in this build).
    pub url: String,
    /// Prefix of every key and channel, to share a Redis between applications.
    pub prefix: String,
    /// How long a command may take before it fails as unavailable: a publish
    /// never waits longer than this.
    pub command_timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
}

impl RedisConfig {
    /// Redis at `url`, keys prefixed with `nagare`, commands bounded by 2 s
    /// and connecting by 1 s.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: "nagare".to_owned(),
            command_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(1),
        }
    }
}

/// Rooms in Redis, shared by every server process on it; see the
/// [module](self) for the layout and the guarantees. Clones share one
/// connection (commands are pipelined on it) and one subscription per room.
#[derive(Clone, Debug)]
pub struct RedisBroker {
    hubs: Arc<Hubs>,
}

impl RedisBroker {
    /// Connects to Redis (RESP3, for pushed messages on the same connection);
    /// fails if Redis cannot be reached now. Later outages are survived: the
    /// connection is made again in the background.
    pub async fn connect(config: RedisConfig) -> Result<Self, BrokerError> {
        let info = config.url.as_str().into_connection_info().map_err(|e| {
            BrokerError::unavailable(format!("invalid Redis URL {:?}", config.url), e)
        })?;
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let info = info.set_redis_settings(settings);
        let client = redis::Client::open(info)
            .map_err(|e| BrokerError::unavailable("invalid Redis settings", e))?;
        let dispatch = hub::Dispatch::new();
        let pushes = dispatch.clone();
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.command_timeout))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500))
            .set_push_sender(move |push| {
                pushes.on_push(push);
                Ok::<(), std::convert::Infallible>(())
            })
            .set_automatic_resubscription();
        let connecting = ConnectionManager::new_with_config(client, manager_config);
        let conn = tokio::time::timeout(config.connect_timeout * 3, connecting)
            .await
            .map_err(|e| BrokerError::unavailable("connecting to Redis timed out", e))?
            .map_err(|e| BrokerError::unavailable("cannot connect to Redis", e))?;
        let hubs = Hubs::start(conn, dispatch, config);
        Ok(RedisBroker { hubs })
    }

    /// The broker as a [`SharedBroker`](super::SharedBroker).
    pub fn shared(&self) -> super::SharedBroker {
        Arc::new(self.clone())
    }

    /// How many rooms this node follows now (one subscription each).
    pub fn followed_rooms(&self) -> usize {
        self.hubs.followed()
    }
}

/// The keys and channels of one room.
#[derive(Clone, Debug)]
pub(crate) struct RoomKeys {
    pub(crate) meta: String,
    pub(crate) history: String,
    pub(crate) live: String,
    pub(crate) members: String,
    pub(crate) expiry: String,
    pub(crate) presence: String,
}

impl RoomKeys {
    pub(crate) fn new(prefix: &str, room: &str) -> Self {
        // The room's name is the hash tag, so `{` and `}` (which would end or
        // start it) and `%` are escaped.
        let mut tag = String::with_capacity(room.len());
        for c in room.chars() {
            match c {
                '{' => tag.push_str("%7B"),
                '}' => tag.push_str("%7D"),
                '%' => tag.push_str("%25"),
                c => tag.push(c),
            }
        }
        let key = |what: &str| format!("{prefix}:{{{tag}}}:{what}");
        RoomKeys {
            meta: key("meta"),
            history: key("history"),
            live: key("live"),
            members: key("members"),
            expiry: key("expiry"),
            presence: key("presence"),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl Broker for RedisBroker {
    fn publish(
        &self,
        room: &RoomId,
        frame: TextBytes,
    ) -> BoxFuture<'static, Result<Published, BrokerError>> {
        let keys = RoomKeys::new(&self.hubs.config.prefix, room.name());
        let config = room.config();
        let (reply, replied) = tokio::sync::oneshot::channel();
        let request = publish::Request {
            keys: [keys.meta, keys.history],
            args: [
                frame.as_str().to_owned(),
                config.history.max(1).to_string(),
                millis(config.history_ttl).to_string(),
                millis(config.meta_ttl).to_string(),
                new_epoch(),
                keys.live,
            ],
            reply,
        };
        // Queued now, so that publishes keep the order of the calls.
        let queued = self.hubs.publishes.send(request).is_ok();
        Box::pin(async move {
            if !queued {
                return Err(BrokerError::Closed);
            }
            let (epoch, seq) = replied.await.map_err(|_| BrokerError::Closed)??;
            Ok(Published {
                epoch: epoch.into(),
                seq,
            })
        })
    }

    fn follow<'a>(
        &'a self,
        room: &'a RoomId,
        from: Option<&'a ResumePoint>,
    ) -> BoxFuture<'a, Result<Feed, FollowError>> {
        Box::pin(self.hubs.follow(room, from))
    }

    fn history<'a>(
        &'a self,
        room: &'a RoomId,
        limit: usize,
    ) -> BoxFuture<'a, Result<History, BrokerError>> {
        Box::pin(async move {
            let keys = RoomKeys::new(&self.hubs.config.prefix, room.name());
            let mut invocation = scripts::TAIL.prepare_invoke();
            invocation
                .key(&keys.meta)
                .key(&keys.history)
                .arg(limit.min(room.config().history));
            let reply = self.hubs.run("history", &invocation).await?;
            let mut read = value::read(reply)?;
            read.entries.reverse();
            Ok(History {
                epoch: read.epoch.into(),
                last: read.top,
                messages: read.entries,
            })
        })
    }

    fn join<'a>(
        &'a self,
        room: &'a RoomId,
        member: Member,
    ) -> BoxFuture<'a, Result<Membership, BrokerError>> {
        Box::pin(presence::join(&self.hubs, room, member))
    }

    fn members<'a>(&'a self, room: &'a RoomId) -> BoxFuture<'a, Result<Vec<Member>, BrokerError>> {
        Box::pin(presence::members(&self.hubs, room))
    }

    fn presence<'a>(
        &'a self,
        room: &'a RoomId,
    ) -> BoxFuture<'a, Result<PresenceFeed, BrokerError>> {
        Box::pin(presence::feed(&self.hubs, room))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_rooms_hash_tag_and_escape_braces() {
        let keys = RoomKeys::new("app", "chat.subscribe/a{b}");
        assert_eq!(keys.meta, "app:{chat.subscribe/a%7Bb%7D}:meta");
        assert_eq!(keys.live, "app:{chat.subscribe/a%7Bb%7D}:live");
        assert_ne!(
            RoomKeys::new("app", "a%7B").meta,
            RoomKeys::new("app", "a{").meta
        );
    }
}
