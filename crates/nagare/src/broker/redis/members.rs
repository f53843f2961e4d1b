//! This node's members of rooms' presence: what it refreshes while their
//! connections live, and the leaves it still has to tell Redis.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::keys::RoomKeys;
use crate::broker::poison::lock;

/// The node's members, by room.
#[derive(Default)]
pub(super) struct Members {
    rooms: Mutex<HashMap<String, LocalRoom>>,
    leaves: Mutex<Option<mpsc::UnboundedSender<(RoomKeys, String)>>>,
}

struct LocalRoom {
    keys: RoomKeys,
    ttl: Duration,
    refreshed: Instant,
    /// Member JSON by id.
    members: HashMap<String, String>,
}

/// The members of one room to send to Redis again.
pub(super) struct Batch {
    pub(super) keys: RoomKeys,
    pub(super) ttl: Duration,
    pub(super) members: Vec<(String, String)>,
}

impl Members {
    /// Where leaves go (the presence upkeep task reads them).
    pub(super) fn send_leaves_to(&self, tx: mpsc::UnboundedSender<(RoomKeys, String)>) {
        *lock(&self.leaves) = Some(tx);
    }

    /// Keeps a member Redis accepted, to refresh it.
    pub(super) fn add(&self, keys: &RoomKeys, ttl: Duration, id: String, json: String) {
        lock(&self.rooms)
            .entry(keys.members.clone())
            .or_insert_with(|| LocalRoom {
                keys: keys.clone(),
                ttl,
                refreshed: Instant::now(),
                members: HashMap::new(),
            })
            .members
            .insert(id, json);
    }

    /// Forgets a member, and queues its leave for Redis (a drop cannot wait).
    pub(super) fn remove(&self, keys: RoomKeys, id: String) {
        {
            let mut rooms = lock(&self.rooms);
            if let Some(local) = rooms.get_mut(&keys.members) {
                local.members.remove(&id);
                if local.members.is_empty() {
                    rooms.remove(&keys.members);
                }
            }
        }
        if let Some(tx) = lock(&self.leaves).as_ref() {
            let _ = tx.send((keys, id));
        }
    }

    /// The rooms whose members are due a refresh (a third of their TTL since
    /// the last), marked refreshed now.
    pub(super) fn due(&self, now: Instant) -> Vec<Batch> {
        self.batches(|r| {
            let due = now.duration_since(r.refreshed) >= r.ttl / 3;
            if due {
                r.refreshed = now;
            }
            due
        })
    }

    /// Every room with members.
    pub(super) fn all(&self) -> Vec<Batch> {
        self.batches(|_| true)
    }

    fn batches(&self, mut pick: impl FnMut(&mut LocalRoom) -> bool) -> Vec<Batch> {
        lock(&self.rooms)
            .values_mut()
            .filter_map(|r| pick(r).then_some(&*r))
            .map(|r| Batch {
                keys: r.keys.clone(),
                ttl: r.ttl,
                members: r
                    .members
                    .iter()
                    .map(|(i, j)| (i.clone(), j.clone()))
                    .collect(),
            })
            .collect()
    }
}
