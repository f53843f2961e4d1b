//! Rooms in Redis, shared by every server process on the same Redis (feature
//! `redis`).
//!
//! # Layout
//!
//! Each room has, under one hash tag (`{room}`, so one Redis Cluster slot):
//!
//! | key | what |
//! |---|---|
//! | `<prefix>:{room}:meta` | hash `{epoch, top, bytes}`: the room's epoch, last number, and the bytes its history keeps |
//! | `<prefix>:{room}:history` | stream of the last `history` messages (at most `history_bytes` of them), entry id `<seq>-0` |
//! | `<prefix>:{room}:live` | channel: every message as it is published |
//! | `<prefix>:{room}:members` | hash of members (presence), by id |
//! | `<prefix>:{room}:expiry` | sorted set of members by expiry time |
//! | `<prefix>:{room}:presence` | channel: joins and leaves |
//!
//! A publish is one Lua script: it takes the next number (`HINCRBY top`),
//! forgets the oldest messages past the history's count or bytes, appends to
//! the stream, refreshes the TTLs and publishes on the channel, so a
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
//! Every command has a deadline ([`RedisConfig::command_timeout`]). While Redis
//! is unreachable, publishes wait in this node's queue (bounded) and go out
//! once Redis answers, or fail after [`RedisConfig::publish_timeout`] with
//! [`BrokerError::Unavailable`] (a stream method returning it closes with
//! 1013), counted and logged even when their connection has left; followers
//! stay connected and get what was published once Redis is back. Whether
//! Redis answers is [`Broker::health`] (readiness probes) and
//! `nagare_broker_connected`.

mod config;
mod dispatch;
mod failure;
mod health;
mod hub;
mod keys;
mod members;
mod node;
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
use crate::broker::{BoxFuture, Broker, BrokerError, BrokerHealth, History, Published, RoomId};
use crate::resume::{new_epoch, ResumePoint};
use crate::ws::TextBytes;

pub use self::config::RedisConfig;
use self::dispatch::{Attached, Dispatch};
use self::keys::{millis, RoomKeys};
use self::node::Node;

/// Rooms in Redis, shared by every server process on it; see the
/// [module](self) for the layout and the guarantees. Clones share one
/// connection (commands are pipelined on it) and one subscription per room.
#[derive(Clone)]
pub struct RedisBroker {
    node: Arc<Node>,
}

impl std::fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.node, f)
    }
}

impl RedisBroker {
    /// Connects to Redis (RESP3, for pushed messages on the same connection);
    /// fails if Redis cannot be reached now. Later outages are survived: the
    /// connection is made again in the background.
    pub async fn connect(config: RedisConfig) -> Result<Self, BrokerError> {
        // Neither the URL nor the redis crate's error (which may quote it) is
        // shown whole: it may hold the password.
        let info =
            config
                .url
                .as_str()
                .into_connection_info()
                .map_err(|e| BrokerError::Unavailable {
                    reason: format!(
                        "invalid Redis URL {} ({:?})",
                        config::redacted(&config.url),
                        e.kind()
                    ),
                    cause: None,
                })?;
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let info = info.set_redis_settings(settings);
        let client = redis::Client::open(info)
            .map_err(|e| BrokerError::unavailable("invalid Redis settings", e))?;
        let health = Arc::new(health::Health::new());
        let dispatch = Dispatch::new(health.clone());
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
        let node = Node::start(conn, dispatch.clone(), health, config);
        tokio::spawn(presence::upkeep(Arc::downgrade(&node), node.stop.clone()));
        let (pinged, chores) = (Arc::downgrade(&node), Arc::downgrade(&node));
        dispatch.attach(Attached {
            ping: Box::new(move || {
                let node = pinged.clone();
                Box::pin(async move {
                    let node = node.upgrade()?;
                    Some(node.ping().await)
                })
            }),
            after: Box::new(move || {
                if let Some(node) = chores.upgrade() {
                    tokio::spawn(async move { presence::resync(&node).await });
                }
            }),
        });
        Ok(RedisBroker { node })
    }

    /// The broker as a [`SharedBroker`](super::SharedBroker).
    pub fn shared(&self) -> super::SharedBroker {
        Arc::new(self.clone())
    }

    /// How many rooms this node follows now (one subscription each).
    pub fn followed_rooms(&self) -> usize {
        hub::followed(&self.node)
    }

    /// Publishes waiting for Redis now.
    pub fn pending_publishes(&self) -> usize {
        self.node.pending.count()
    }
}

impl Broker for RedisBroker {
    fn health(&self) -> BrokerHealth {
        match self.node.health.is_up() {
            true => BrokerHealth::Up,
            false => BrokerHealth::Down("Redis unreachable".to_owned()),
        }
    }

    fn publish(
        &self,
        room: &RoomId,
        frame: TextBytes,
    ) -> BoxFuture<'static, Result<Published, BrokerError>> {
        let keys = RoomKeys::new(&self.node.config.prefix, room.name());
        let config = room.config();
        let bytes = frame.as_str().len();
        if let Err(e) = self.node.pending.admit(bytes) {
            return Box::pin(std::future::ready(Err(e)));
        }
        let (reply, replied) = tokio::sync::oneshot::channel();
        let request = publish::Request {
            bytes,
            deadline: tokio::time::Instant::now() + self.node.config.publish_timeout,
            keys: [keys.meta, keys.history],
            args: [
                frame.as_str().to_owned(),
                config.history.max(1).to_string(),
                millis(config.history_ttl).to_string(),
                millis(config.meta_ttl).to_string(),
                new_epoch(),
                keys.live,
                config.history_bytes.to_string(),
            ],
            reply,
        };
        // Queued now, so that publishes keep the order of the calls.
        let queued = self.node.publishes.send(request).is_ok();
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
        Box::pin(hub::follow(&self.node, room, from))
    }

    fn history<'a>(
        &'a self,
        room: &'a RoomId,
        limit: usize,
    ) -> BoxFuture<'a, Result<History, BrokerError>> {
        Box::pin(async move {
            let keys = RoomKeys::new(&self.node.config.prefix, room.name());
            let mut invocation = scripts::TAIL.prepare_invoke();
            invocation
                .key(&keys.meta)
                .key(&keys.history)
                .arg(limit.min(room.config().history));
            let reply = self.node.run("history", &invocation).await?;
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
        Box::pin(presence::join(&self.node, room, member))
    }

    fn members<'a>(&'a self, room: &'a RoomId) -> BoxFuture<'a, Result<Vec<Member>, BrokerError>> {
        Box::pin(presence::members(&self.node, room))
    }

    fn presence<'a>(
        &'a self,
        room: &'a RoomId,
    ) -> BoxFuture<'a, Result<PresenceFeed, BrokerError>> {
        Box::pin(presence::feed(&self.node, room))
    }
}
