//! Typed rooms: what services hold, so they publish and read messages of their
//! design's types and never the broker's frames.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::broker::feed::{Feed, FollowError};
use crate::broker::presence::{Member, Membership, PresenceFeed};
use crate::broker::{BrokerError, Published, RoomConfig, RoomId, SharedBroker};
use crate::message::{to_text, Message};
use crate::resume::ResumePoint;

/// A family of rooms of messages `T` with the same settings, one per key (the
/// rooms of a chat, say, one per channel name). Generated code makes one per
/// method the design marks as a room.
pub struct Rooms<T> {
    broker: SharedBroker,
    prefix: Arc<str>,
    config: RoomConfig,
    _type: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Rooms<T> {
    fn clone(&self) -> Self {
        Rooms {
            broker: self.broker.clone(),
            prefix: self.prefix.clone(),
            config: self.config,
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
        Room::new(self.broker.clone(), RoomId::new(name, self.config))
    }

    /// The rooms' settings.
    pub fn config(&self) -> &RoomConfig {
        &self.config
    }

    /// The same rooms with their settings changed by `change`.
    pub fn reconfigured(mut self, change: impl FnOnce(&mut RoomConfig)) -> Self {
        change(&mut self.config);
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
    _type: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Room<T> {
    fn clone(&self) -> Self {
        Room {
            broker: self.broker.clone(),
            id: self.id.clone(),
            _type: PhantomData,
        }
    }
}

impl<T: Message> Room<T> {
    /// The room `id` on `broker`.
    pub fn new(broker: SharedBroker, id: RoomId) -> Self {
        Room {
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
    pub async fn publish(&self, msg: &T) -> Result<Published, BrokerError> {
        let frame = to_text(msg, None).map_err(|e| BrokerError::Encode(Arc::new(e)))?;
        self.broker.publish(&self.id, frame).await
    }

    /// The last `limit` messages, oldest first, with their numbers.
    pub async fn history(&self, limit: usize) -> Result<Vec<(u64, T)>, BrokerError> {
        let history = self.broker.history(&self.id, limit).await?;
        history
            .messages
            .into_iter()
            .map(|(seq, frame)| {
                T::decode(frame.as_str().trim_end().as_bytes(), None)
                    .map(|m| (seq, m))
                    .map_err(|e| {
                        BrokerError::Protocol(format!(
                            "message {seq} of room {} cannot be read back: {e}",
                            self.id
                        ))
                    })
            })
            .collect()
    }

    /// Follows the room from `from`; see [`Broker::follow`](super::Broker::follow).
    pub async fn follow(&self, from: Option<&ResumePoint>) -> Result<Feed, FollowError> {
        self.broker.follow(&self.id, from).await
    }

    /// Joins the room's presence as `member` until the membership is dropped.
    pub async fn join(&self, member: Member) -> Result<Membership, BrokerError> {
        self.broker.join(&self.id, member).await
    }

    /// Who is in the room.
    pub async fn members(&self) -> Result<Vec<Member>, BrokerError> {
        self.broker.members(&self.id).await
    }

    /// The joins and leaves from now on.
    pub async fn presence(&self) -> Result<PresenceFeed, BrokerError> {
        self.broker.presence(&self.id).await
    }
}

impl<T> std::fmt::Debug for Room<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room").field("id", &self.id).finish()
    }
}
