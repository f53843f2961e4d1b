//! Presence in Redis 7.0, which has no expiry per hash field: the members in a
//! hash, their expiry times in a sorted set. Each node refreshes its own
//! members while their connections live; a node that dies stops refreshing, and
//! its members are removed (and announced as left) once their expiry passes,
//! by whichever node reads or watches the room next.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::dispatch::Listener;
use super::keys::{millis, RoomKeys};
use super::members::Batch;
use super::node::Node;
use super::{scripts, value};
use crate::broker::presence::{Member, Membership, PresenceEvent, PresenceFeed, PRESENCE_BACKLOG};
use crate::broker::{BrokerError, RoomId};

/// How often the node looks at its members and the rooms it watches.
const TICK: Duration = Duration::from_millis(500);

/// Joins `member` to `room`, announcing it, and keeps it refreshed until the
/// membership is dropped.
pub(super) async fn join(
    node: &Arc<Node>,
    room: &RoomId,
    member: Member,
) -> Result<Membership, BrokerError> {
    let keys = RoomKeys::new(&node.config.prefix, room.name());
    let json = serde_json::to_string(&member).map_err(|e| BrokerError::Encode(Arc::new(e)))?;
    let ttl = room.config().presence_ttl;
    run_join(
        node,
        &keys,
        ttl,
        "join",
        [(member.id.as_str(), json.as_str())],
    )
    .await?;
    node.members.add(&keys, ttl, member.id.clone(), json);
    let weak = Arc::downgrade(node);
    let id = member.id.clone();
    Ok(Membership::new(member, move || {
        // A node gone takes its members' refreshes with it: they expire.
        if let Some(node) = weak.upgrade() {
            node.members.remove(keys, id);
        }
    }))
}

async fn run_join<'a>(
    node: &Node,
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
    node.run("presence", &invocation).await.map(|_| ())
}

async fn send(node: &Node, batch: &Batch, mode: &str) -> Result<(), BrokerError> {
    let pairs = batch.members.iter().map(|(i, j)| (i.as_str(), j.as_str()));
    run_join(node, &batch.keys, batch.ttl, mode, pairs).await
}

/// The room's members, after removing those whose node stopped refreshing
/// them.
pub(super) async fn members(node: &Arc<Node>, room: &RoomId) -> Result<Vec<Member>, BrokerError> {
    let keys = RoomKeys::new(&node.config.prefix, room.name());
    let mut members = value::members(sweep(node, &keys).await?)?;
    members.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(members)
}

async fn sweep(node: &Node, keys: &RoomKeys) -> Result<redis::Value, BrokerError> {
    let mut invocation = scripts::MEMBERS.prepare_invoke();
    invocation
        .key(&keys.members)
        .key(&keys.expiry)
        .arg(&keys.presence);
    node.run("presence", &invocation).await
}

/// One node's watch on a room's presence channel, shared by its local feeds.
pub(super) struct Watch {
    node: Arc<Node>,
    keys: RoomKeys,
    tx: broadcast::Sender<PresenceEvent>,
    ready: tokio::sync::OnceCell<()>,
}

impl Listener for Watch {
    fn message(self: Arc<Self>, payload: &[u8]) {
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
        self.node.unsubscribe(self.keys.presence.clone());
    }
}

/// A feed of the room's joins and leaves, through the node's watch.
pub(super) async fn feed(node: &Arc<Node>, room: &RoomId) -> Result<PresenceFeed, BrokerError> {
    let keys = RoomKeys::new(&node.config.prefix, room.name());
    let watch = match node.dispatch.find::<Watch>(&keys.presence) {
        Some(w) => w,
        None => {
            let watch = Arc::new(Watch {
                node: node.clone(),
                keys: keys.clone(),
                tx: broadcast::channel(PRESENCE_BACKLOG).0,
                ready: tokio::sync::OnceCell::new(),
            });
            let weak: Weak<dyn Listener> = Arc::downgrade(&watch) as _;
            node.dispatch.insert(keys.presence.clone(), weak);
            watch
        }
    };
    watch
        .ready
        .get_or_try_init(|| node.subscribe(&keys.presence))
        .await?;
    let rx = watch.tx.subscribe();
    Ok(PresenceFeed::new(rx, Some(watch)))
}

/// The node's presence chores, until the node is gone: leaves at once; every
/// few hundred milliseconds, refreshes of its members (a third of their TTL
/// before they would expire) and a sweep of the rooms it watches, which
/// announces members whose node died.
pub(super) async fn upkeep(node: Weak<Node>, stop: CancellationToken) {
    let (tx, mut leaves) = mpsc::unbounded_channel();
    match node.upgrade() {
        Some(n) => n.members.send_leaves_to(tx),
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
        let Some(node) = node.upgrade() else {
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
                if let Err(e) = node.run("presence", &invocation).await {
                    // The member expires with its TTL instead.
                    tracing::warn!(error = %e, member = %id, "cannot tell Redis a member left");
                }
            }
            None => chores(&node).await,
        }
    }
}

/// Refreshes the members due, and sweeps the watched rooms.
async fn chores(node: &Node) {
    for batch in node.members.due(Instant::now()) {
        if let Err(e) = send(node, &batch, "refresh").await {
            tracing::warn!(error = %e, "cannot refresh presence");
        }
    }
    let watched: Vec<RoomKeys> = node
        .dispatch
        .all::<Watch>()
        .iter()
        .map(|w| w.keys.clone())
        .collect();
    for keys in watched {
        if let Err(e) = sweep(node, &keys).await {
            tracing::debug!(error = %e, "cannot sweep presence");
        }
    }
}

/// After an outage: every local member joins again (its entry may have
/// expired meanwhile).
pub(super) async fn resync(node: &Node) {
    for batch in node.members.all() {
        if let Err(e) = send(node, &batch, "join").await {
            tracing::warn!(error = %e, "cannot restore presence after reconnecting");
        }
    }
}
