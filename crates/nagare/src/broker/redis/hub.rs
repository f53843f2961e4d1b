//! One node's side of the rooms it follows: a subscription per room, shared by
//! its local followers, and a ring of the room's recent messages kept level
//! with Redis (gaps filled from the history stream, restarts followed).

use std::any::Any;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{PushInfo, PushKind, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::value::{self, Live};
use super::{millis, presence, scripts, RedisConfig, RoomKeys};
use crate::broker::feed::{Feed, FollowError};
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

/// Everything a Redis broker shares: the connection, the rooms this node
/// follows, and the background tasks.
pub(super) struct Hubs {
    pub(super) config: RedisConfig,
    conn: ConnectionManager,
    pub(super) dispatch: Arc<Dispatch>,
    subscriptions: mpsc::UnboundedSender<Subscription>,
    /// Publishes, in order, to the publishing task.
    pub(super) publishes: mpsc::UnboundedSender<super::publish::Request>,
    pub(super) presence: presence::Local,
    stop: CancellationToken,
}

impl std::fmt::Debug for Hubs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBroker")
            .field("url", &redacted(&self.config.url))
            .field("prefix", &self.config.prefix)
            .field("followed_rooms", &self.followed())
            .finish()
    }
}

impl Drop for Hubs {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A change of the node's subscriptions, made in order by one task.
enum Subscription {
    Subscribe(String, oneshot::Sender<Result<(), BrokerError>>),
    /// Unsubscribe unless a new listener took the channel meanwhile.
    Unsubscribe(String),
}

impl Hubs {
    pub(super) fn start(
        conn: ConnectionManager,
        dispatch: Arc<Dispatch>,
        config: RedisConfig,
    ) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (publishes, to_publish) = mpsc::unbounded_channel();
        tokio::spawn(super::publish::run(
            conn.clone(),
            to_publish,
            config.command_timeout,
        ));
        let hubs = Arc::new(Hubs {
            config,
            conn: conn.clone(),
            dispatch: dispatch.clone(),
            subscriptions: tx,
            publishes,
            presence: presence::Local::default(),
            stop: CancellationToken::new(),
        });
        let _ = dispatch.hubs.set(Arc::downgrade(&hubs));
        tokio::spawn(subscriptions(
            conn,
            dispatch,
            rx,
            hubs.config.command_timeout,
        ));
        tokio::spawn(presence::upkeep(Arc::downgrade(&hubs), hubs.stop.clone()));
        hubs
    }

    /// Runs a script with the command deadline; failures are counted.
    pub(super) async fn run(
        &self,
        op: &'static str,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<Value, BrokerError> {
        let mut conn = self.conn.clone();
        let outcome = tokio::time::timeout(
            self.config.command_timeout,
            invocation.invoke_async(&mut conn),
        )
        .await;
        let result = match outcome {
            Err(elapsed) => Err(BrokerError::unavailable(
                format!(
                    "Redis did not answer {op} within {:?}",
                    self.config.command_timeout
                ),
                elapsed,
            )),
            Ok(Err(e)) if is_unavailable(&e) => Err(BrokerError::unavailable(
                format!("Redis unreachable ({op})"),
                e,
            )),
            Ok(Err(e)) => Err(BrokerError::Protocol(format!("{op}: {e}"))),
            Ok(Ok(v)) => Ok(v),
        };
        if result.is_err() {
            metrics::counter!("nagare_broker_errors_total", "op" => op).increment(1);
        }
        result
    }

    /// Subscribes to `channel` (once per node), waiting for Redis to confirm.
    pub(super) async fn subscribe(&self, channel: &str) -> Result<(), BrokerError> {
        let (done, confirmed) = oneshot::channel();
        self.subscriptions
            .send(Subscription::Subscribe(channel.to_owned(), done))
            .map_err(|_| BrokerError::Closed)?;
        confirmed.await.map_err(|_| BrokerError::Closed)?
    }

    pub(super) fn unsubscribe(&self, channel: String) {
        let _ = self.subscriptions.send(Subscription::Unsubscribe(channel));
    }

    /// How many rooms have local followers.
    pub(super) fn followed(&self) -> usize {
        self.dispatch.rooms().len()
    }

    /// Follows `room` from `from`: through the node's hub for the room, ready
    /// (subscribed and level with Redis) before the feed opens.
    pub(super) async fn follow(
        self: &Arc<Self>,
        room: &RoomId,
        from: Option<&ResumePoint>,
    ) -> Result<Feed, FollowError> {
        let hub = self.hub(room);
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

    /// The node's hub for `room`, made if it has none.
    fn hub(self: &Arc<Self>, room: &RoomId) -> Arc<Hub> {
        let keys = RoomKeys::new(&self.config.prefix, room.name());
        let mut listeners = self.dispatch.lock();
        if let Some(Listener::Room(weak)) = listeners.get(&keys.live) {
            if let Some(hub) = weak.upgrade() {
                return hub;
            }
        }
        let hub = Arc::new(Hub {
            hubs: self.clone(),
            ring: Ring::new(room.config().history, "".into(), 1),
            room: room.clone(),
            keys,
            ready: tokio::sync::OnceCell::new(),
            state: Mutex::new(HubState {
                busy: true,
                again: false,
                pending: VecDeque::new(),
            }),
        });
        listeners.insert(hub.keys.live.clone(), Listener::Room(Arc::downgrade(&hub)));
        hub
    }
}

/// The URL without its password, for logs.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<invalid URL>".to_owned(),
    }
}

/// Whether a command failed because Redis cannot be reached (rather than
/// because of what was sent).
pub(super) fn is_unavailable(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal()
}

/// Applies subscription changes in order, so that a room left by its last
/// follower and joined again at once stays subscribed.
async fn subscriptions(
    mut conn: ConnectionManager,
    dispatch: Arc<Dispatch>,
    mut rx: mpsc::UnboundedReceiver<Subscription>,
    timeout: Duration,
) {
    let mut subscribed: HashSet<String> = HashSet::new();
    while let Some(change) = rx.recv().await {
        match change {
            Subscription::Subscribe(channel, done) => {
                if subscribed.contains(&channel) {
                    let _ = done.send(Ok(()));
                    continue;
                }
                let outcome = match tokio::time::timeout(timeout, conn.subscribe(&channel)).await {
                    Ok(Ok(())) => {
                        subscribed.insert(channel);
                        Ok(())
                    }
                    Ok(Err(e)) => Err(BrokerError::unavailable("cannot subscribe", e)),
                    Err(e) => Err(BrokerError::unavailable("subscribing timed out", e)),
                };
                if outcome.is_err() {
                    metrics::counter!("nagare_broker_errors_total", "op" => "subscribe")
                        .increment(1);
                }
                let _ = done.send(outcome);
            }
            Subscription::Unsubscribe(channel) => {
                if dispatch.is_live(&channel) {
                    continue;
                }
                dispatch.forget(&channel);
                if !subscribed.remove(&channel) {
                    continue;
                }
                match tokio::time::timeout(timeout, conn.unsubscribe(&channel)).await {
                    Ok(Ok(())) => {}
                    // The channel's messages are ignored from now on; Redis
                    // forgets the subscription with the connection.
                    Ok(Err(e)) => tracing::debug!(error = %e, %channel, "unsubscribe failed"),
                    Err(_) => tracing::debug!(%channel, "unsubscribe timed out"),
                }
            }
        }
    }
}

/// Routes what Redis pushes (channel messages, disconnections) to the rooms
/// and presence watchers listening.
pub(super) struct Dispatch {
    listeners: Mutex<HashMap<String, Listener>>,
    hubs: OnceLock<Weak<Hubs>>,
    resyncing: AtomicBool,
}

/// Who listens on a channel.
pub(super) enum Listener {
    Room(Weak<Hub>),
    Presence(Weak<presence::Watch>),
}

impl Dispatch {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Dispatch {
            listeners: Mutex::new(HashMap::new()),
            hubs: OnceLock::new(),
            resyncing: AtomicBool::new(false),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, HashMap<String, Listener>> {
        lock(&self.listeners)
    }

    fn is_live(&self, channel: &str) -> bool {
        match self.lock().get(channel) {
            Some(Listener::Room(w)) => w.strong_count() > 0,
            Some(Listener::Presence(w)) => w.strong_count() > 0,
            None => false,
        }
    }

    fn forget(&self, channel: &str) {
        let mut listeners = self.lock();
        let dead = match listeners.get(channel) {
            Some(Listener::Room(w)) => w.strong_count() == 0,
            Some(Listener::Presence(w)) => w.strong_count() == 0,
            None => false,
        };
        if dead {
            listeners.remove(channel);
        }
    }

    /// The rooms followed now.
    fn rooms(&self) -> Vec<Arc<Hub>> {
        self.lock()
            .values()
            .filter_map(|l| match l {
                Listener::Room(w) => w.upgrade(),
                Listener::Presence(_) => None,
            })
            .collect()
    }

    /// Handles one push from Redis, on the connection's task: quick, never
    /// waits.
    pub(super) fn on_push(&self, push: PushInfo) {
        match push.kind {
            PushKind::Message => {
                let mut data = push.data.into_iter();
                let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
                    (data.next(), data.next())
                else {
                    return;
                };
                let Ok(channel) = std::str::from_utf8(&channel) else {
                    return;
                };
                let listener = match self.lock().get(channel) {
                    Some(Listener::Room(w)) => w.upgrade().map(Either::Room),
                    Some(Listener::Presence(w)) => w.upgrade().map(Either::Presence),
                    None => None,
                };
                match listener {
                    Some(Either::Room(hub)) => match value::live(&payload) {
                        Ok(live) => hub.offer(live),
                        Err(e) => tracing::warn!(%channel, error = %e, "unreadable room message"),
                    },
                    Some(Either::Presence(watch)) => watch.deliver(&payload),
                    None => {}
                }
            }
            PushKind::Disconnection => self.disconnected(),
            _ => {}
        }
    }

    /// The connection to Redis dropped: what was published meanwhile never
    /// reaches the channels. Every room buffers what comes next, and once
    /// Redis answers again (the connection manager reconnects and subscribes
    /// again), reads its history up to its last number.
    fn disconnected(&self) {
        tracing::warn!("connection to Redis lost: reconnecting");
        for hub in self.rooms() {
            let mut st = lock(&hub.state);
            st.busy = true;
            st.again = true;
        }
        if self.resyncing.swap(true, Ordering::SeqCst) {
            return;
        }
        let Some(hubs) = self.hubs.get().and_then(Weak::upgrade) else {
            self.resyncing.store(false, Ordering::SeqCst);
            return;
        };
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(50);
            loop {
                let mut conn = hubs.conn.clone();
                let ping = redis::cmd("PING");
                let answered = ping.query_async::<String>(&mut conn);
                if let Ok(Ok(_)) = tokio::time::timeout(hubs.config.command_timeout, answered).await
                {
                    break;
                }
                tokio::select! {
                    () = hubs.stop.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            hubs.dispatch.resyncing.store(false, Ordering::SeqCst);
            metrics::counter!("nagare_broker_reconnects_total").increment(1);
            tracing::info!("connection to Redis back: reading the followed rooms again");
            for hub in hubs.dispatch.rooms() {
                tokio::spawn(async move { hub.repair().await });
            }
            presence::resync(&hubs).await;
        });
    }
}

enum Either {
    Room(Arc<Hub>),
    Presence(Arc<presence::Watch>),
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every statement that holds these locks leaves the data consistent.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One room as this node follows it.
pub(super) struct Hub {
    hubs: Arc<Hubs>,
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
                self.hubs.subscribe(&self.keys.live).await?;
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
                        () = self.hubs.stop.cancelled() => return,
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
        value::read(self.hubs.run("read", &invocation).await?)
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.hubs.unsubscribe(self.keys.live.clone());
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

#[cfg(test)]
mod tests {
    #[test]
    fn logged_urls_hide_the_password() {
        assert_eq!(
            super::redacted("redis://u:secret@127.0.0.1:6379/0"),
            "redis://u:***@127.0.0.1:6379/0"
        );
        assert_eq!(super::redacted("redis://127.0.0.1/"), "redis://127.0.0.1/");
    }
}
