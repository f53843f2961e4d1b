//! Rooms: numbered messages published by anyone, followed by many, with history
//! and presence, in one process or across many.
//!
//! A room is a stream of messages with a name (a chat room, a topic, the
//! events of one document). Publishing appends a message to the room's history,
//! numbered 1, 2, 3... within the room's *epoch*, and delivers it to every
//! follower, in order. A follower starts live, or from a [`ResumePoint`] it
//! had: it gets what it missed, then every new message, the way a resumable
//! stream (`nagare.v1`, see [`crate::resume`]) needs them.
//!
//! Where rooms live is the [`Broker`]'s business:
//!
//! - [`MemoryBroker`], the default: every room in this process's memory. No
//!   outside service; a restart starts every room again in a new epoch.
//! - `RedisBroker` (feature `redis`): rooms in Redis, shared by every server
//!   process that uses the same Redis, so a client follows a room from any of
//!   them and resumes on another after its node went away.
//!
//! Services hold typed rooms ([`Room`], made from a [`Rooms`] family) and never
//! see the broker's encoding; generated code builds them from the design.
//!
//! # Epochs
//!
//! An epoch names one run of a room's numbering. A room's numbers only mean
//! something with its epoch: when a room's history is lost (the process holding
//! it restarted, Redis lost its data), the room starts again at 1 in a new
//! epoch. A follower that comes back with a point of the old epoch is not
//! refused: it is told the room restarted (on the wire, a position frame with
//! the new epoch) and continues from the oldest message the new epoch keeps;
//! what was published in between may be lost, and the client can say so.

mod feed;
mod memory;
mod poison;
mod presence;
#[cfg(feature = "redis")]
pub mod redis;
mod ring;
mod room;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "redis")]
pub use self::redis::{RedisBroker, RedisConfig};
pub use feed::{Feed, FeedItem, FollowError};
pub use memory::MemoryBroker;
pub use presence::{Member, Membership, PresenceChange, PresenceEvent, PresenceFeed};
pub use room::{Publisher, Room, RoomHistory, Rooms};

use crate::cause::Cause;
use crate::resume::ResumePoint;
use crate::ws::TextBytes;

/// A boxed future, the return type of [`Broker`] methods (the trait is used
/// as `dyn Broker`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A broker shared by a service and its handlers.
pub type SharedBroker = Arc<dyn Broker>;

/// Whether a broker can do its work now, for readiness probes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BrokerHealth {
    /// It can.
    Up,
    /// It cannot, for this reason (its service is unreachable): publishes
    /// wait, then fail with "try again later".
    Down(String),
}

/// Where rooms live: their numbering, history, live delivery and presence.
///
/// Messages travel as plain frames (compact JSON and `\n`), encoded once by the
/// publisher and sent as they are to every follower without a view. Use the
/// typed [`Room`] rather than calling a broker directly.
pub trait Broker: Send + Sync + fmt::Debug + 'static {
    /// Whether the broker can do its work now (its service answers): what a
    /// readiness probe asks. Up unless the broker says otherwise.
    fn health(&self) -> BrokerHealth {
        BrokerHealth::Up
    }

    /// Appends a message to the room's history and delivers it to every
    /// follower, on every node; the future resolves with the number it got.
    ///
    /// A publish the broker took is the broker's, not its caller's: dropping
    /// the future does not withdraw it. When the broker's service is
    /// unreachable it waits, bounded in time and in how many wait, and then
    /// either completes or fails with [`BrokerError::Unavailable`] (counted
    /// and logged even when nobody awaits it). One the broker cannot take
    /// (its queue full) fails at once.
    ///
    /// The message takes its place when this is called, not when the future is
    /// first polled: messages published from one task, one call after the
    /// other, keep their order even when their futures are awaited later (what
    /// [`Publisher`] does, to publish without a round trip per message).
    fn publish(
        &self,
        room: &RoomId,
        frame: TextBytes,
    ) -> BoxFuture<'static, Result<Published, BrokerError>>;

    /// Follows the room from `from` (the messages after it) or, without a
    /// point, from the next message published. A point of another epoch starts
    /// at the oldest message the room keeps, and the feed says the room
    /// restarted.
    fn follow<'a>(
        &'a self,
        room: &'a RoomId,
        from: Option<&'a ResumePoint>,
    ) -> BoxFuture<'a, Result<Feed, FollowError>>;

    /// The last `limit` messages of the room, oldest first.
    fn history<'a>(
        &'a self,
        room: &'a RoomId,
        limit: usize,
    ) -> BoxFuture<'a, Result<History, BrokerError>>;

    /// Adds a member to the room's presence until the returned membership is
    /// dropped (or left); others see a join event now and a leave event then.
    fn join<'a>(
        &'a self,
        room: &'a RoomId,
        member: Member,
    ) -> BoxFuture<'a, Result<Membership, BrokerError>>;

    /// Who is in the room now.
    fn members<'a>(&'a self, room: &'a RoomId) -> BoxFuture<'a, Result<Vec<Member>, BrokerError>>;

    /// Follows the room's presence: who joins and leaves from now on.
    fn presence<'a>(&'a self, room: &'a RoomId)
        -> BoxFuture<'a, Result<PresenceFeed, BrokerError>>;
}

/// A room's name and settings, as a broker is given them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoomId {
    name: Arc<str>,
    config: RoomConfig,
}

impl RoomId {
    /// A room named `name` (any text: brokers encode it as they need).
    pub fn new(name: impl Into<Arc<str>>, config: RoomConfig) -> Self {
        RoomId {
            name: name.into(),
            config,
        }
    }

    /// The room's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The room's settings.
    pub fn config(&self) -> &RoomConfig {
        &self.config
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Bytes of messages a room's history keeps unless its design or settings
/// say otherwise: 16 MiB, sixteen messages at the default 1 MiB message
/// limit, or thousands of chat lines.
pub const DEFAULT_HISTORY_BYTES: usize = 16 * 1024 * 1024;

/// History reads at once per family of rooms, unless set: with the default
/// byte budget, at most 256 MiB held for readers of history.
pub const DEFAULT_HISTORY_READS: usize = 16;

/// How much of a room is kept, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RoomConfig {
    /// Messages kept for followers that come back and for history reads: how
    /// far behind a follower can be and still resume.
    pub history: usize,
    /// Bytes of message text the history keeps at most: past it, the oldest
    /// messages are forgotten, so a few large messages cannot pin more memory
    /// (in this process, and in Redis) than this, whatever `history` says.
    /// The newest message is always kept, whatever its size.
    pub history_bytes: usize,
    /// History reads ([`Room::history`]) running at once in this process,
    /// for one family of rooms ([`Rooms`]); one more fails with
    /// [`BrokerError::Busy`] (a stream closes with 1013, try again later).
    /// Each read holds its messages until its client has them, so this
    /// bounds what slow readers of history can hold.
    pub history_reads: usize,
    /// How long a room's history is kept after its last message (Redis: the
    /// stream's TTL). A follower away longer than this finds it gone.
    pub history_ttl: Duration,
    /// How long a room's epoch and last number are kept after its last message
    /// (Redis: the meta hash's TTL). Much longer than the history: when it
    /// expires, the room starts again in a new epoch.
    pub meta_ttl: Duration,
    /// How long a member stays present when its node stops refreshing it (a
    /// node that died without saying so).
    pub presence_ttl: Duration,
}

impl RoomConfig {
    /// Keeps the last `history` messages, up to [`DEFAULT_HISTORY_BYTES`] of
    /// them, for a day, the numbering for 30 days, and presence for 60 s
    /// without a refresh; [`DEFAULT_HISTORY_READS`] history reads at once.
    pub const fn new(history: usize) -> Self {
        RoomConfig {
            history,
            history_bytes: DEFAULT_HISTORY_BYTES,
            history_reads: DEFAULT_HISTORY_READS,
            history_ttl: Duration::from_secs(24 * 3600),
            meta_ttl: Duration::from_secs(30 * 24 * 3600),
            presence_ttl: Duration::from_secs(60),
        }
    }
}

impl RoomConfig {
    /// The same settings, keeping at most `bytes` of messages.
    pub const fn with_history_bytes(mut self, bytes: usize) -> Self {
        self.history_bytes = bytes;
        self
    }
}

impl Default for RoomConfig {
    /// 1024 messages; see [`RoomConfig::new`].
    fn default() -> Self {
        RoomConfig::new(1024)
    }
}

/// Where a published message landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The room's epoch.
    pub epoch: Arc<str>,
    /// The message's number in it.
    pub seq: u64,
}

/// The end of a room's history.
#[derive(Clone, Debug)]
pub struct History {
    /// The room's epoch.
    pub epoch: Arc<str>,
    /// The number of the last message published (0 before the first).
    pub last: u64,
    /// The messages, oldest first, with their numbers.
    pub messages: Vec<(u64, TextBytes)>,
}

/// Why a broker could not do what was asked.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// The broker's service cannot be reached or did not answer in time: try
    /// again later. Nothing was published.
    #[error("broker unavailable: {reason}")]
    Unavailable {
        /// What failed.
        reason: String,
        /// The error underneath.
        #[source]
        cause: Option<Cause>,
    },
    /// The broker's service answered something this broker does not expect
    /// (another program wrote to its keys, or a version mismatch).
    #[error("broker protocol error: {0}")]
    Protocol(String),
    /// The message could not be encoded.
    #[error("cannot encode message")]
    Encode(#[source] Arc<serde_json::Error>),
    /// The broker was shut down.
    #[error("broker closed")]
    Closed,
    /// Too many requests of this kind are running at once in this process
    /// (history reads past [`RoomConfig::history_reads`]): try again later.
    #[error("busy: {0}")]
    Busy(String),
}

impl BrokerError {
    /// Whether trying again later may succeed: the broker is unreachable or
    /// busy (close 1013, HTTP 503 with `Retry-After`), rather than broken.
    pub fn is_temporary(&self) -> bool {
        matches!(self, BrokerError::Unavailable { .. } | BrokerError::Busy(_))
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn unavailable(
        reason: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        BrokerError::Unavailable {
            reason: reason.into(),
            cause: Some(Cause::new(cause)),
        }
    }
}
