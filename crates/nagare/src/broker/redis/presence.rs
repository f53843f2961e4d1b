//! Presence in Redis 7.0, which has no expiry per hash field: the members in a
//! hash, their expiry times in a sorted set. Each node refreshes its own
//! members while their connections live; a node that dies stops refreshing, and
//! its members are removed (and announced as left) once their expiry passes,
//! by whichever node reads or watches the room next.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::hub::{lock, Hubs, Listener};
use super::{millis, scripts, value, RoomKeys};
use crate::broker::presence::{Member, Membership, PresenceEvent, PresenceFeed, PRESENCE_BACKLOG};
use crate::broker::{BrokerError, RoomId};

/// How often the node looks at its members and the rooms it watches.
const TICK: Duration = Duration::from_millis(500);

/// This node's members, to refresh, and the leaves still to tell Redis.
#[derive(Default)]
pub(super) struct Local {
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

/// Joins `member` to `room`, announcing it, and keeps it refreshed until the
/// membership is dropped.
pub(super) async fn join(
    hubs: &Arc<Hubs>,
    room: &RoomId,
    member: Member,
) -> Result<Membership, BrokerError> {
    let keys = RoomKeys::new(&hubs.config.prefix, room.name());
    let json = serde_json::to_string(&member).map_err(|e| BrokerError::Encode(Arc::new(e)))?;
    let ttl = room.config().presence_ttl;
    run_join(
        hubs,
        &keys,
        ttl,
        "join",
        [(member.id.as_str(), json.as_str())],
    )
    .await?;
    {
        let mut rooms = lock(&hubs.presence.rooms);
        let local = rooms
            .entry(keys.members.clone())
            .or_insert_with(|| LocalRoom {
                keys: keys.clone(),
                ttl,
                refreshed: Instant::now(),
                members: HashMap::new(),
            });
        local.members.insert(member.id.clone(), json);
    }
    let weak = Arc::downgrade(hubs);
    let id = member.id.clone();
    Ok(Membership::new(member, move || leave(&weak, keys, id)))
}

/// Forgets a local member and tells Redis (from the upkeep task: a drop
/// cannot wait).
fn leave(hubs: &Weak<Hubs>, keys: RoomKeys, id: String) {
    let Some(hubs) = hubs.upgrade() else {
        return;
    };
    {
        let mut rooms = lock(&hubs.presence.rooms);
        if let Some(local) = rooms.get_mut(&keys.members) {
            local.members.remove(&id);
            if local.members.is_empty() {
                rooms.remove(&keys.members);
            }
        }
    }
    let leaves = lock(&hubs.presence.leaves);
    if let Some(tx) = leaves.as_ref() {
        let _ = tx.send((keys, id));
    }
}

async fn run_join<'a>(
    hubs: &Hubs,
    keys: &RoomKeys,
    ttl: Duration,
    mode: &str,
    members: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), BrokerError> {
    let mut invocation = scripts::JOIN.prepare_invoke();
    invocation
        .key(&keys.members)
        .key(&keys.expiry)
        .arg(millis(ttl))
        .arg(&keys.presence)
        .arg(mode);
    for (id, json) in members {
        invocation.arg(id).arg(json);
    }
    hubs.run("presence", &invocation).await.map(|_| ())
}

/// The room's members, after removing those whose node stopped refreshing
/// them.
pub(super) async fn members(hubs: &Arc<Hubs>, room: &RoomId) -> Result<Vec<Member>, BrokerError> {
    let keys = RoomKeys::new(&hubs.config.prefix, room.name());
    let mut members = value::members(sweep(hubs, &keys).await?)?;
    members.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(members)
}

async fn sweep(hubs: &Hubs, keys: &RoomKeys) -> Result<redis::Value, BrokerError> {
    let mut invocation = scripts::MEMBERS.prepare_invoke();
    invocation
        .key(&keys.members)
        .key(&keys.expiry)
        .arg(&keys.presence);
    hubs.run("presence", &invocation).await
}

/// One node's watch on a room's presence channel, shared by its local feeds.
pub(super) struct Watch {
    hubs: Arc<Hubs>,
    keys: RoomKeys,
    tx: broadcast::Sender<PresenceEvent>,
    ready: tokio::sync::OnceCell<()>,
}

impl Watch {
    /// A message from the presence channel.
    pub(super) fn deliver(&self, payload: &[u8]) {
        match value::presence(payload) {
            Ok((true, m)) => {
                let _ = self.tx.send(PresenceEvent::Join(m));
            }
            Ok((false, m)) => {
                let _ = self.tx.send(PresenceEvent::Leave(m));
            }
            Err(e) => {
                tracing::warn!(channel = %self.keys.presence, error = %e, "unreadable presence message")
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.hubs.unsubscribe(self.keys.presence.clone());
    }
}

/// A feed of the room's joins and leaves, through the node's watch.
pub(super) async fn feed(hubs: &Arc<Hubs>, room: &RoomId) -> Result<PresenceFeed, BrokerError> {
    let keys = RoomKeys::new(&hubs.config.prefix, room.name());
    let watch = {
        let mut listeners = hubs.dispatch.lock();
        match listeners.get(&keys.presence) {
            Some(Listener::Presence(w)) if w.strong_count() > 0 => w.upgrade(),
            _ => None,
        }
        .unwrap_or_else(|| {
            let watch = Arc::new(Watch {
                hubs: hubs.clone(),
                keys: keys.clone(),
                tx: broadcast::channel(PRESENCE_BACKLOG).0,
                ready: tokio::sync::OnceCell::new(),
            });
            listeners.insert(
                keys.presence.clone(),
                Listener::Presence(Arc::downgrade(&watch)),
            );
            watch
        })
    };
    watch
        .ready
        .get_or_try_init(|| hubs.subscribe(&keys.presence))
        .await?;
    let rx = watch.tx.subscribe();
    Ok(PresenceFeed::new(rx, Some(watch)))
}

/// The node's presence chores, until the broker is dropped: leaves at once;
/// every few hundred milliseconds, refreshes of its members (a third of their
/// TTL before they would expire) and a sweep of the rooms it watches, which
/// announces members whose node died.
pub(super) async fn upkeep(hubs: Weak<Hubs>, stop: CancellationToken) {
    let (tx, mut leaves) = mpsc::unbounded_channel();
    match hubs.upgrade() {
        Some(h) => *lock(&h.presence.leaves) = Some(tx),
        None => return,
    }
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let leave = tokio::select! {
            () = stop.cancelled() => return,
            leave = leaves.recv() => leave,
            _ = tick.tick() => None,
        };
        let Some(hubs) = hubs.upgrade() else {
            return;
        };
        match leave {
            Some((keys, id)) => {
                let mut invocation = scripts::LEAVE.prepare_invoke();
                invocation
                    .key(&keys.members)
                    .key(&keys.expiry)
                    .arg(&keys.presence)
                    .arg(&id);
                if let Err(e) = hubs.run("presence", &invocation).await {
                    // The member expires with its TTL instead.
                    tracing::warn!(error = %e, member = %id, "cannot tell Redis a member left");
                }
            }
            None => chores(&hubs).await,
        }
    }
}

/// The members of one room to send to Redis again.
struct Batch {
    keys: RoomKeys,
    ttl: Duration,
    members: Vec<(String, String)>,
}

impl Batch {
    async fn send(&self, hubs: &Hubs, mode: &str) -> Result<(), BrokerError> {
        let pairs = self.members.iter().map(|(i, j)| (i.as_str(), j.as_str()));
        run_join(hubs, &self.keys, self.ttl, mode, pairs).await
    }
}

/// The local members of the rooms `due` picks (and marks refreshed).
fn batches(hubs: &Hubs, mut due: impl FnMut(&mut LocalRoom) -> bool) -> Vec<Batch> {
    lock(&hubs.presence.rooms)
        .values_mut()
        .filter_map(|r| due(r).then_some(&*r))
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

/// Refreshes the members due, and sweeps the watched rooms.
async fn chores(hubs: &Arc<Hubs>) {
    let now = Instant::now();
    let due = batches(hubs, |r| {
        let due = now.duration_since(r.refreshed) >= r.ttl / 3;
        if due {
            r.refreshed = now;
        }
        due
    });
    for batch in due {
        if let Err(e) = batch.send(hubs, "refresh").await {
            tracing::warn!(error = %e, "cannot refresh presence");
        }
    }
    let watched: Vec<RoomKeys> = hubs
        .dispatch
        .lock()
        .values()
        .filter_map(|l| match l {
            Listener::Presence(w) => w.upgrade().map(|w| w.keys.clone()),
            Listener::Room(_) => None,
        })
        .collect();
    for keys in watched {
        if let Err(e) = sweep(hubs, &keys).await {
            tracing::debug!(error = %e, "cannot sweep presence");
        }
    }
}

/// After an outage: every local member joins again (its entry may have
/// expired meanwhile).
pub(super) async fn resync(hubs: &Arc<Hubs>) {
    for batch in batches(hubs, |_| true) {
        if let Err(e) = batch.send(hubs, "join").await {
            tracing::warn!(error = %e, "cannot restore presence after reconnecting");
        }
    }
}
