//! One node's side of the rooms it follows: a subscription per room, shared by
//! its local followers, and a ring of the room's recent messages kept level
//! with Redis (gaps filled from the history stream, restarts followed).

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::dispatch::Listener;
use super::keys::{millis, RoomKeys};
use super::node::Node;
use super::scripts;
use super::value::{self, Live};
use crate::broker::feed::{Feed, FollowError};
use crate::broker::poison::lock;
use crate::broker::ring::Ring;
use crate::broker::{BrokerError, RoomId};
use crate::resume::{new_epoch, ResumePoint};

/// Messages read from a room's history per command.
const PAGE: usize = 512;

/// Passes of a repair in a row before messages that cannot be placed are
/// given up as lost (a guard against a room changing faster than it is read).
const MAX_PASSES: usize = 32;

/// How many live messages a room buffers while it is being repaired; older
/// ones are dropped (they are read back from the history stream).
const MAX_PENDING: usize = 65_536;

/// Follows `room` from `from`: through the node's hub for the room, ready
/// (subscribed and level with Redis) before the feed opens.
pub(super) async fn follow(
    node: &Arc<Node>,
    room: &RoomId,
    from: Option<&ResumePoint>,
) -> Result<Feed, FollowError> {
    let hub = hub(node, room);
    hub.ready().await?;
    let hold = || Some(hub.clone() as Arc<dyn Any + Send + Sync>);
    match Feed::open(hub.ring.clone(), from, hold()) {
        // The client saw messages this node has not yet: another node
        // delivered them first. Read Redis before calling the point wrong.
        Err(FollowError::Ahead { .. }) => {
            hub.settle().await?;
            Feed::open(hub.ring.clone(), from, hold())
        }
        opened => opened,
    }
}

/// How many rooms the node follows.
pub(super) fn followed(node: &Node) -> usize {
    node.dispatch.all::<Hub>().len()
}

/// The node's hub for `room`, made if it has none.
fn hub(node: &Arc<Node>, room: &RoomId) -> Arc<Hub> {
    let keys = RoomKeys::new(&node.config.prefix, room.name());
    if let Some(hub) = node.dispatch.find::<Hub>(&keys.live) {
        return hub;
    }
    let hub = Arc::new(Hub {
        node: node.clone(),
        ring: Ring::new(
            room.config().history,
            room.config().history_bytes,
            "".into(),
            1,
        ),
        room: room.clone(),
        keys,
        ready: tokio::sync::OnceCell::new(),
        state: Mutex::new(HubState {
            busy: true,
            again: false,
            pending: VecDeque::new(),
        }),
    });
    let weak: std::sync::Weak<dyn Listener> = Arc::downgrade(&hub) as _;
    node.dispatch.insert(hub.keys.live.clone(), weak);
    hub
}

/// One room as this node follows it.
pub(super) struct Hub {
    node: Arc<Node>,
    room: RoomId,
    keys: RoomKeys,
    ring: Ring,
    ready: tokio::sync::OnceCell<()>,
    state: Mutex<HubState>,
}

struct HubState {
    /// Live messages are buffered (a repair is under way or due), not appended.
    busy: bool,
    /// Another pass over Redis is wanted before the repair ends.
    again: bool,
    pending: VecDeque<Live>,
}

/// How a pass over Redis ended.
enum Pass {
    /// The ring is level with Redis and everything buffered is placed.
    Done,
    /// Another pass is needed.
    Again,
}

impl Hub {
    /// Subscribed and level with Redis, once; an attempt that fails is made
    /// again by the next follower.
    async fn ready(self: &Arc<Self>) -> Result<(), BrokerError> {
        self.ready
            .get_or_try_init(|| async {
                self.node.subscribe(&self.keys.live).await?;
                self.settle().await
            })
            .await
            .map(|_| ())
    }

    /// A message from the room's channel: appended when it is the next one,
    /// else buffered while the ring is repaired from Redis.
    fn offer(self: &Arc<Self>, live: Live) {
        let mut st = lock(&self.state);
        if st.busy {
            if st.pending.len() == MAX_PENDING {
                st.pending.pop_front();
            }
            st.pending.push_back(live);
            return;
        }
        match self.ring.append(&live.epoch, live.seq, live.frame.clone()) {
            Ok(()) => record_lag(live.published_ms),
            Err(_) => {
                st.busy = true;
                st.pending.push_back(live);
                drop(st);
                metrics::counter!("nagare_broker_gap_repairs_total").increment(1);
                let hub = self.clone();
                tokio::spawn(async move { hub.repair().await });
            }
        }
    }

    /// Passes over Redis until the ring is level with it, retrying through
    /// outages while the room has followers.
    async fn repair(self: Arc<Self>) {
        let mut delay = Duration::from_millis(50);
        loop {
            match self.settle().await {
                Ok(()) => return,
                Err(e) => {
                    if Arc::strong_count(&self) <= 1 {
                        return;
                    }
                    tracing::warn!(room = %self.room, error = %e, "cannot read the room from Redis: retrying");
                    tokio::select! {
                        () = self.node.stop.cancelled() => return,
                        () = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// Passes over Redis until done.
    async fn settle(&self) -> Result<(), BrokerError> {
        for _ in 0..MAX_PASSES {
            if let Pass::Done = self.pass().await? {
                return Ok(());
            }
        }
        // What is still buffered cannot be placed after so many reads: the
        // messages before it are given up as lost (followers that needed them
        // are told they are behind).
        let mut st = lock(&self.state);
        while let Some(m) = st.pending.pop_front() {
            if self.ring.append(&m.epoch, m.seq, m.frame.clone()).is_err()
                && *self.ring.extent().epoch == *m.epoch
            {
                self.ring.skip_to(m.seq);
                let _ = self.ring.append(&m.epoch, m.seq, m.frame);
            }
        }
        st.busy = false;
        st.again = false;
        Ok(())
    }

    /// One pass: reads Redis up to the room's last number, then places what
    /// was buffered meanwhile.
    async fn pass(&self) -> Result<Pass, BrokerError> {
        lock(&self.state).again = false;
        let consistent = self.fill().await?;
        let mut st = lock(&self.state);
        let epoch = self.ring.extent().epoch;
        let mut again = !consistent;
        while let Some(m) = st.pending.pop_front() {
            if *m.epoch != *epoch {
                // From an epoch Redis no longer has, or one newer than the
                // read: either way the next read decides.
                again = true;
                continue;
            }
            match self.ring.append(&m.epoch, m.seq, m.frame.clone()) {
                Ok(()) => {}
                Err(_) => {
                    // Published after the read, with messages missing
                    // before it: read again.
                    st.pending.push_front(m);
                    again = true;
                    break;
                }
            }
        }
        if again || st.again {
            return Ok(Pass::Again);
        }
        st.busy = false;
        Ok(Pass::Done)
    }

    /// Reads the room from Redis up to its last number; `false` when the
    /// room's epoch changed during the read.
    async fn fill(&self) -> Result<bool, BrokerError> {
        let known = self.ring.extent();
        // A hub's first read only learns the epoch: its messages are read next.
        let count = if known.epoch.is_empty() { 0 } else { PAGE };
        let mut read = self
            .read(known.last + 1, count, &known.epoch, known.last)
            .await?;
        let epoch = read.epoch.clone();
        let top = read.top;
        if *epoch != *known.epoch {
            // A new room, or one that restarted: keep its last messages.
            let start = (top + 1).saturating_sub(self.ring.capacity() as u64).max(1);
            self.ring.reset(epoch.as_str().into(), start);
            read = self.read(start, PAGE, &epoch, 0).await?;
            if read.epoch != epoch {
                return Ok(false);
            }
        }
        loop {
            let empty = read.entries.is_empty();
            for (seq, frame) in read.entries {
                if let Err(expected) = self.ring.append(&epoch, seq, frame.clone()) {
                    if expected != 0 && seq > expected {
                        // Trimmed from the history: lost.
                        self.ring.skip_to(seq);
                        let _ = self.ring.append(&epoch, seq, frame);
                    }
                }
            }
            let last = self.ring.extent().last;
            if last >= top {
                return Ok(true);
            }
            if empty {
                // The rest is no longer kept (trimmed, or the history expired).
                self.ring.skip_to(top + 1);
                return Ok(true);
            }
            read = self.read(last + 1, PAGE, &epoch, last).await?;
            if read.epoch != epoch {
                return Ok(false);
            }
        }
    }

    /// The room's epoch, last number and up to `count` messages from `from`.
    /// When the room's number went back in the epoch this node knows (Redis
    /// lost writes it had confirmed), the room restarts in a new epoch rather
    /// than number messages twice.
    async fn read(
        &self,
        from: u64,
        count: usize,
        known_epoch: &str,
        known_top: u64,
    ) -> Result<value::Read, BrokerError> {
        let config = self.room.config();
        let mut invocation = scripts::READ.prepare_invoke();
        invocation
            .key(&self.keys.meta)
            .key(&self.keys.history)
            .arg(from)
            .arg(count)
            .arg(new_epoch())
            .arg(millis(config.meta_ttl))
            .arg(known_epoch)
            .arg(known_top);
        value::read(self.node.run("read", &invocation).await?)
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.node.unsubscribe(self.keys.live.clone());
    }
}

fn record_lag(published_ms: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    if published_ms > 0 && now >= published_ms {
        metrics::histogram!("nagare_broker_delivery_lag_seconds")
            .record((now - published_ms) as f64 / 1000.0);
    }
}

impl Listener for Hub {
    fn message(self: Arc<Self>, payload: &[u8]) {
        match value::live(payload) {
            Ok(live) => self.offer(live),
            Err(e) => tracing::warn!(room = %self.room, error = %e, "unreadable room message"),
        }
    }

    /// What is published meanwhile is read back once Redis answers again.
    fn disconnected(&self) {
        let mut st = lock(&self.state);
        st.busy = true;
        st.again = true;
    }

    fn reconnected(self: Arc<Self>) {
        tokio::spawn(self.repair());
    }
}
