//! Routes what Redis pushes on the broker's connection to whoever listens on
//! each channel (a followed room, a watched presence), and tells them when the
//! connection drops and when Redis answers again.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use redis::{PushInfo, PushKind, Value};

use super::health::Health;
use crate::broker::poison::lock;
use crate::broker::BoxFuture;

/// One channel's listener.
pub(super) trait Listener: Any + Send + Sync {
    /// A message on the channel. Runs on the connection's task: quick, never
    /// waits.
    fn message(self: Arc<Self>, payload: &[u8]);

    /// The connection dropped: what is published meanwhile never arrives.
    fn disconnected(&self) {}

    /// Redis answers again (and the connection manager subscribed again):
    /// time to read what was missed.
    fn reconnected(self: Arc<Self>) {}
}

/// The channels listened to, and what to do when the connection comes back.
pub(super) struct Dispatch {
    listeners: Mutex<HashMap<String, Weak<dyn Listener>>>,
    attached: OnceLock<Attached>,
    resyncing: AtomicBool,
    health: Arc<Health>,
}

/// What finding Redis again takes, from the broker (which the dispatch must
/// not keep alive: the connection's push handler holds the dispatch).
pub(super) struct Attached {
    /// Asks Redis once: `Some(answered)`, `None` once the broker is gone.
    pub(super) ping: Box<dyn Fn() -> BoxFuture<'static, Option<bool>> + Send + Sync>,
    /// The broker's own chores once Redis answers.
    pub(super) after: Box<dyn Fn() + Send + Sync>,
}

impl Dispatch {
    pub(super) fn new(health: Arc<Health>) -> Arc<Self> {
        Arc::new(Dispatch {
            listeners: Mutex::new(HashMap::new()),
            attached: OnceLock::new(),
            resyncing: AtomicBool::new(false),
            health,
        })
    }

    /// Gives the dispatch what it needs once the connection exists.
    pub(super) fn attach(&self, attached: Attached) {
        let _ = self.attached.set(attached);
    }

    /// The live listener of `channel`, if it is a `T`.
    pub(super) fn find<T: Listener>(&self, channel: &str) -> Option<Arc<T>> {
        let listener = lock(&self.listeners).get(channel)?.upgrade()?;
        (listener as Arc<dyn Any + Send + Sync>).downcast().ok()
    }

    /// Makes `listener` the channel's (replacing a dead one).
    pub(super) fn insert(&self, channel: String, listener: Weak<dyn Listener>) {
        lock(&self.listeners).insert(channel, listener);
    }

    /// The live listeners that are `T`s.
    pub(super) fn all<T: Listener>(&self) -> Vec<Arc<T>> {
        self.live()
            .into_iter()
            .filter_map(|l| (l as Arc<dyn Any + Send + Sync>).downcast().ok())
            .collect()
    }

    fn live(&self) -> Vec<Arc<dyn Listener>> {
        lock(&self.listeners)
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// Whether someone listens on `channel`.
    pub(super) fn is_live(&self, channel: &str) -> bool {
        lock(&self.listeners)
            .get(channel)
            .is_some_and(|w| w.strong_count() > 0)
    }

    /// Forgets `channel` if its listener is gone.
    pub(super) fn forget(&self, channel: &str) {
        let mut listeners = lock(&self.listeners);
        if listeners
            .get(channel)
            .is_some_and(|w| w.strong_count() == 0)
        {
            listeners.remove(channel);
        }
    }

    /// Handles one push from Redis, on the connection's task.
    pub(super) fn on_push(self: &Arc<Self>, push: PushInfo) {
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
                let listener = lock(&self.listeners).get(channel).and_then(Weak::upgrade);
                if let Some(listener) = listener {
                    listener.message(&payload);
                }
            }
            PushKind::Disconnection => self.disconnected(),
            _ => {}
        }
    }

    /// The connection to Redis dropped: every listener is told, and once Redis
    /// answers again (the connection manager reconnects and subscribes again),
    /// every listener is told that too.
    fn disconnected(self: &Arc<Self>) {
        tracing::warn!("connection to Redis lost: reconnecting");
        self.health.down("connection lost");
        let listeners = self.live();
        for l in &listeners {
            l.disconnected();
        }
        if self.resyncing.swap(true, Ordering::SeqCst) {
            return;
        }
        drop(listeners);
        let dispatch = self.clone();
        tokio::spawn(async move {
            if !dispatch.answers().await {
                return;
            }
            dispatch.resyncing.store(false, Ordering::SeqCst);
            metrics::counter!("nagare_broker_reconnects_total").increment(1);
            tracing::info!("connection to Redis back: reading what was missed");
            for l in dispatch.live() {
                l.reconnected();
            }
            if let Some(attached) = dispatch.attached.get() {
                (attached.after)();
            }
        });
    }

    /// Pings Redis, backing off, until it answers (`true`) or the broker is
    /// gone.
    async fn answers(&self) -> bool {
        let Some(attached) = self.attached.get() else {
            return false;
        };
        let mut delay = Duration::from_millis(50);
        loop {
            match (attached.ping)().await {
                Some(true) => return true,
                Some(false) => {}
                None => return false,
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }
}
