//! Presence: who is in a room. A member is one connection (a client that
//! connects twice is two members), with optional information about it taken
//! from its request (the user named in its token, say).

use std::any::Any;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// One member of a room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Names the connection: unique among the room's members.
    pub id: String,
    /// What the application says about the member, as JSON text (`None` when
    /// it says nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
}

impl Member {
    /// A member with a fresh random id and `info`.
    pub fn new(info: Option<String>) -> Self {
        Member {
            id: format!("{:016x}", rand::random::<u64>()),
            info,
        }
    }
}

/// A change in a room's presence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PresenceEvent {
    /// A member joined.
    Join(Member),
    /// A member left: it said so, its connection ended, or its node stopped
    /// refreshing it for the room's presence TTL.
    Leave(Member),
}

/// Being in a room: the member stays present until this is dropped or
/// [`leave`](Self::leave) is called.
pub struct Membership {
    member: Member,
    leave: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Membership {
    pub(crate) fn new(member: Member, leave: impl FnOnce() + Send + Sync + 'static) -> Self {
        Membership {
            member,
            leave: Some(Box::new(leave)),
        }
    }

    /// The member.
    pub fn member(&self) -> &Member {
        &self.member
    }

    /// Leaves the room now (dropping the membership does the same).
    pub fn leave(mut self) {
        if let Some(leave) = self.leave.take() {
            leave();
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        if let Some(leave) = self.leave.take() {
            leave();
        }
    }
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership")
            .field("member", &self.member)
            .finish()
    }
}

/// The joins and leaves of a room, from when it was opened.
///
/// Events are a notification, not a record: a reader that falls more than a
/// few hundred events behind skips the oldest ([`PresenceFeed::next`] says how
/// many), and `members()` is where to read who is there.
pub struct PresenceFeed {
    rx: broadcast::Receiver<PresenceEvent>,
    _hold: Option<Arc<dyn Any + Send + Sync>>,
}

/// What a presence feed reads next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PresenceChange {
    /// A join or a leave.
    Event(PresenceEvent),
    /// The reader was too slow: this many events were skipped.
    Skipped(u64),
}

impl PresenceFeed {
    pub(crate) fn new(
        rx: broadcast::Receiver<PresenceEvent>,
        hold: Option<Arc<dyn Any + Send + Sync>>,
    ) -> Self {
        PresenceFeed { rx, _hold: hold }
    }

    /// The next change; `None` when the broker is gone.
    pub async fn next(&mut self) -> Option<PresenceChange> {
        match self.rx.recv().await {
            Ok(e) => Some(PresenceChange::Event(e)),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(PresenceChange::Skipped(n)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

impl std::fmt::Debug for PresenceFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresenceFeed").finish_non_exhaustive()
    }
}

/// How many presence events a slow reader may be behind before it skips.
pub(crate) const PRESENCE_BACKLOG: usize = 256;
