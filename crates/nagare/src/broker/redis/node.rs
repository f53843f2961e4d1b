//! What one Redis broker (one node) shares between its rooms and presence: the
//! connection, commands with a deadline, the node's subscriptions (one per
//! channel, changed in order by one task), the publishing task, the node's
//! members, and the stop of its background tasks.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::config::{redacted, RedisConfig};
use super::dispatch::Dispatch;
use super::failure;
use super::health::Health;
use super::members::Members;
use super::publish::{self, Pending, Publishing};
use crate::broker::BrokerError;

/// The node: everything a Redis broker's clones share.
pub(super) struct Node {
    pub(super) config: RedisConfig,
    conn: ConnectionManager,
    pub(super) dispatch: Arc<Dispatch>,
    subscriptions: mpsc::UnboundedSender<Subscription>,
    /// Publishes, in order, to the publishing task.
    pub(super) publishes: mpsc::UnboundedSender<publish::Request>,
    /// What waits in `publishes`, bounded.
    pub(super) pending: Arc<Pending>,
    /// Whether Redis answers.
    pub(super) health: Arc<Health>,
    pub(super) members: Members,
    pub(super) stop: CancellationToken,
}

/// A change of the node's subscriptions.
enum Subscription {
    Subscribe(String, oneshot::Sender<Result<(), BrokerError>>),
    /// Unsubscribe unless a new listener took the channel meanwhile.
    Unsubscribe(String),
}

impl Node {
    /// The node on `conn`, with its subscription and publishing tasks running.
    pub(super) fn start(
        conn: ConnectionManager,
        dispatch: Arc<Dispatch>,
        health: Arc<Health>,
        config: RedisConfig,
    ) -> Arc<Self> {
        let (subscriptions, changes) = mpsc::unbounded_channel();
        let (publishes, to_publish) = mpsc::unbounded_channel();
        let pending = Arc::new(Pending::new(
            config.max_pending_publishes,
            config.max_pending_bytes,
        ));
        tokio::spawn(publish::run(
            to_publish,
            Publishing {
                conn: conn.clone(),
                pending: pending.clone(),
                health: health.clone(),
                node: crate::resume::new_epoch(),
                command_timeout: config.command_timeout,
            },
        ));
        tokio::spawn(subscribe_in_order(
            conn.clone(),
            dispatch.clone(),
            changes,
            config.command_timeout,
        ));
        Arc::new(Node {
            config,
            conn,
            dispatch,
            subscriptions,
            publishes,
            pending,
            health,
            members: Members::default(),
            stop: CancellationToken::new(),
        })
    }

    /// Runs a script with the command deadline; failures are counted.
    pub(super) async fn run(
        &self,
        op: &'static str,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<Value, BrokerError> {
        let mut conn = self.conn.clone();
        let timeout = self.config.command_timeout;
        let result = match tokio::time::timeout(timeout, invocation.invoke_async(&mut conn)).await {
            Err(elapsed) => Err(failure::no_answer(op, timeout, elapsed)),
            Ok(Err(e)) => Err(failure::of_reply(op, e)),
            Ok(Ok(v)) => Ok(v),
        };
        match &result {
            Ok(_) => self.health.up(),
            Err(e) => {
                metrics::counter!("nagare_broker_errors_total", "op" => op).increment(1);
                if e.is_temporary() {
                    self.health.down(&e.to_string());
                }
            }
        }
        result
    }

    /// Whether Redis answers a PING within the command deadline.
    pub(super) async fn ping(&self) -> bool {
        let mut conn = self.conn.clone();
        let ping = redis::cmd("PING");
        let answered = ping.query_async::<String>(&mut conn);
        let up = matches!(
            tokio::time::timeout(self.config.command_timeout, answered).await,
            Ok(Ok(_))
        );
        match up {
            true => self.health.up(),
            false => self.health.down("no answer to PING"),
        }
        up
    }

    /// Subscribes to `channel` (once per node), waiting for Redis to confirm.
    pub(super) async fn subscribe(&self, channel: &str) -> Result<(), BrokerError> {
        let (done, confirmed) = oneshot::channel();
        self.subscriptions
            .send(Subscription::Subscribe(channel.to_owned(), done))
            .map_err(|_| BrokerError::Closed)?;
        confirmed.await.map_err(|_| BrokerError::Closed)?
    }

    /// Unsubscribes from `channel`, unless it has a listener again by then.
    pub(super) fn unsubscribe(&self, channel: String) {
        let _ = self.subscriptions.send(Subscription::Unsubscribe(channel));
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBroker")
            .field("url", &redacted(&self.config.url))
            .field("prefix", &self.config.prefix)
            .finish_non_exhaustive()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Applies subscription changes in order, so that a room left by its last
/// follower and joined again at once stays subscribed.
async fn subscribe_in_order(
    mut conn: ConnectionManager,
    dispatch: Arc<Dispatch>,
    mut changes: mpsc::UnboundedReceiver<Subscription>,
    timeout: Duration,
) {
    let mut subscribed: HashSet<String> = HashSet::new();
    while let Some(change) = changes.recv().await {
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
                    Ok(Err(e)) => Err(failure::of_reply("subscribe", e)),
                    Err(elapsed) => Err(failure::no_answer("subscribe", timeout, elapsed)),
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
