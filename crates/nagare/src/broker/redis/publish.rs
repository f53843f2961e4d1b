//! Publishing through one task per broker, in order, with group commit: every
//! publish asked for while a batch is with Redis goes out in the next one, as
//! one pipeline. A publish takes its place in the queue when it is asked for,
//! so a publisher that does not wait for each acknowledgement still publishes
//! in order, and Redis sees one round trip per batch instead of per message.
//!
//! # What a publish the server accepted becomes
//!
//! The queue belongs to the broker, not to the connection that asked: a
//! publish outlives its connection. While Redis cannot be reached the batch
//! waits (backing off) and is sent again once Redis answers, until each
//! publish's deadline ([`RedisConfig::publish_timeout`](super::RedisConfig::publish_timeout));
//! one past it fails: its caller, if still there, gets
//! [`BrokerError::Unavailable`] (a stream closes 1013, a unary call answers
//! 503), and every failure is counted (`nagare_broker_publish_failures_total`)
//! and logged, a line per failed batch, saying how many of its publishes had
//! no caller left to tell. The queue is bounded in publishes and in bytes
//! ([`Pending`]): past either, a publish is refused at once, as unavailable.
//!
//! A batch sent again after a failure that may have come after Redis ran it
//! (a reply lost with the connection) must not publish twice: each publish
//! carries this node's number for it, stored with the message, and a
//! publish sent again first looks for its number among the room's last
//! messages.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::health::Health;
use super::{failure, scripts, value};
use crate::broker::BrokerError;

/// Publishes sent in one pipeline at most.
const MAX_BATCH: usize = 512;

/// First and longest wait between two attempts while Redis is unreachable.
const FIRST_RETRY: Duration = Duration::from_millis(50);
const LAST_RETRY: Duration = Duration::from_secs(1);

/// One publish: the publish script's keys and arguments, and who waits.
pub(super) struct Request {
    pub(super) keys: [String; 2],
    /// The script's arguments but the last two (this node's number for the
    /// publish, and whether it is sent again), which the task adds.
    pub(super) args: [String; 7],
    /// The frame's bytes, counted in [`Pending`].
    pub(super) bytes: usize,
    /// Past it, the publish fails rather than wait longer for Redis.
    pub(super) deadline: Instant,
    pub(super) reply: oneshot::Sender<Result<(String, u64), BrokerError>>,
}

/// Publishes queued and not done, bounded in number and bytes: the broker
/// refuses a publish past either, and the task counts each one done.
#[derive(Debug)]
pub(super) struct Pending {
    count: AtomicUsize,
    bytes: AtomicUsize,
    max_count: usize,
    max_bytes: usize,
}

impl Pending {
    pub(super) fn new(max_count: usize, max_bytes: usize) -> Self {
        Pending {
            count: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            max_count: max_count.max(1),
            max_bytes: max_bytes.max(1),
        }
    }

    /// Counts a publish of `bytes` in, unless the queue is full.
    pub(super) fn admit(&self, bytes: usize) -> Result<(), BrokerError> {
        let count = self.count.fetch_add(1, Ordering::SeqCst);
        let held = self.bytes.fetch_add(bytes, Ordering::SeqCst);
        // One publish is always let in, whatever its size.
        if count >= self.max_count || (count > 0 && held + bytes > self.max_bytes) {
            self.done(bytes);
            metrics::counter!("nagare_broker_publish_failures_total", "reason" => "queue_full")
                .increment(1);
            return Err(BrokerError::Unavailable {
                reason: format!(
                    "{count} publishes ({held} bytes) already wait for Redis; try again later"
                ),
                cause: None,
            });
        }
        metrics::gauge!("nagare_broker_publishes_pending").set((count + 1) as f64);
        Ok(())
    }

    /// Counts a publish of `bytes` out.
    fn done(&self, bytes: usize) {
        let left = self.count.fetch_sub(1, Ordering::SeqCst) - 1;
        self.bytes.fetch_sub(bytes, Ordering::SeqCst);
        metrics::gauge!("nagare_broker_publishes_pending").set(left as f64);
    }

    /// Publishes waiting now.
    pub(super) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

/// What the task needs besides its queue.
pub(super) struct Publishing {
    pub(super) conn: ConnectionManager,
    pub(super) pending: Arc<Pending>,
    pub(super) health: Arc<Health>,
    /// This node's name in the numbers it gives its publishes.
    pub(super) node: String,
    pub(super) command_timeout: Duration,
}

/// A request in a batch, with the number the task gave it.
struct Queued {
    request: Request,
    number: u64,
}

/// How one attempt at a batch ended.
enum Attempt {
    /// Every publish has its answer.
    Answered(Vec<Result<(String, u64), BrokerError>>),
    /// Redis could not be reached: the batch waits and goes again.
    Unreachable(BrokerError),
}

/// Runs batches until every sender is gone.
pub(super) async fn run(mut requests: mpsc::UnboundedReceiver<Request>, mut p: Publishing) {
    let mut batch: Vec<Queued> = Vec::with_capacity(MAX_BATCH);
    let mut numbers = 0u64;
    let mut again = false;
    let mut wait = FIRST_RETRY;
    loop {
        if batch.is_empty() {
            match requests.recv().await {
                Some(request) => {
                    numbers += 1;
                    batch.push(Queued {
                        request,
                        number: numbers,
                    });
                }
                None => return,
            }
        }
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(request) => {
                    numbers += 1;
                    batch.push(Queued {
                        request,
                        number: numbers,
                    });
                }
                Err(_) => break,
            }
        }
        expire(&mut batch, &p.pending, Instant::now());
        if batch.is_empty() {
            continue;
        }
        match attempt(&mut p, &batch, again).await {
            Attempt::Answered(replies) => {
                p.health.up();
                again = false;
                wait = FIRST_RETRY;
                answer(batch.drain(..), replies, &p.pending);
            }
            Attempt::Unreachable(e) => {
                // Sent again, in the same order, once Redis answers; what
                // it may have run already is found by its number.
                p.health.down(&e.to_string());
                again = true;
                let earliest = batch
                    .iter()
                    .map(|q| q.request.deadline)
                    .min()
                    .unwrap_or_else(Instant::now);
                tokio::time::sleep_until(earliest.min(Instant::now() + wait)).await;
                wait = (wait * 2).min(LAST_RETRY);
            }
        }
    }
}

/// Sends `batch` as one pipeline (`again`: each publish first looks for
/// itself among the room's messages).
async fn attempt(p: &mut Publishing, batch: &[Queued], again: bool) -> Attempt {
    let mut pipe = redis::pipe();
    // Each publish answers for itself; the script is loaded with every
    // batch (cheap when Redis has it), so a restarted Redis never answers
    // NOSCRIPT.
    pipe.ignore_errors().load_script(&scripts::PUBLISH);
    for q in batch {
        let mut invocation = scripts::PUBLISH.prepare_invoke();
        for k in &q.request.keys {
            invocation.key(k);
        }
        for a in &q.request.args {
            invocation.arg(a);
        }
        invocation
            .arg(format!("{}:{}", p.node, q.number))
            .arg(if again { "1" } else { "0" });
        pipe.invoke_script(&invocation);
    }
    let timeout = p.command_timeout;
    let outcome = tokio::time::timeout(timeout, pipe.query_async::<Vec<Value>>(&mut p.conn)).await;
    let replies = match outcome {
        Ok(Ok(values)) if values.len() == batch.len() + 1 => values
            .into_iter()
            .skip(1)
            .map(|v| match v {
                Value::ServerError(e) => Err(BrokerError::Protocol(format!("publish: {e:?}"))),
                v => value::published(v),
            })
            .collect(),
        Ok(Ok(values)) => {
            let e = BrokerError::Protocol(format!(
                "publish: {} replies for {} publishes",
                values.len().saturating_sub(1),
                batch.len()
            ));
            batch.iter().map(|_| Err(e.clone())).collect()
        }
        Ok(Err(e)) if failure::is_unavailable(&e) => {
            return Attempt::Unreachable(failure::of_reply("publish", e))
        }
        Ok(Err(e)) => {
            let e = failure::of_reply("publish", e);
            batch.iter().map(|_| Err(e.clone())).collect()
        }
        Err(elapsed) => {
            return Attempt::Unreachable(failure::no_answer("publish", timeout, elapsed))
        }
    };
    Attempt::Answered(replies)
}

/// Answers each publish of a batch that Redis answered.
fn answer(
    batch: impl Iterator<Item = Queued>,
    replies: Vec<Result<(String, u64), BrokerError>>,
    pending: &Pending,
) {
    let mut failed = Vec::new();
    for (q, reply) in batch.zip(replies) {
        pending.done(q.request.bytes);
        match reply {
            Ok(r) => {
                // A publisher that stopped waiting does not mind.
                let _ = q.request.reply.send(Ok(r));
            }
            Err(e) => failed.push((q.request, e)),
        }
    }
    report(failed, "rejected");
}

/// Fails the publishes of `batch` past their deadline.
fn expire(batch: &mut Vec<Queued>, pending: &Pending, now: Instant) {
    if batch.iter().all(|q| q.request.deadline > now) {
        return;
    }
    let (live, expired): (Vec<Queued>, Vec<Queued>) =
        batch.drain(..).partition(|q| q.request.deadline > now);
    *batch = live;
    let failed = expired
        .into_iter()
        .map(|q| {
            pending.done(q.request.bytes);
            let e = BrokerError::Unavailable {
                reason: "Redis did not take the publish before its deadline; try again later"
                    .to_owned(),
                cause: None,
            };
            (q.request, e)
        })
        .collect();
    report(failed, "deadline");
}

/// Tells each failed publish's caller, if it is still there, and reports the
/// failures: counted, and one log line for them all.
fn report(failed: Vec<(Request, BrokerError)>, reason: &'static str) {
    if failed.is_empty() {
        return;
    }
    let total = failed.len();
    metrics::counter!("nagare_broker_publish_failures_total", "reason" => reason)
        .increment(total as u64);
    let mut first = None;
    let mut untold = 0;
    for (request, e) in failed {
        if first.is_none() {
            first = Some(e.to_string());
        }
        if request.reply.send(Err(e)).is_err() {
            untold += 1;
        }
    }
    tracing::warn!(
        failed = total,
        callers_gone = untold,
        error = first.as_deref().unwrap_or_default(),
        "publishes failed: not in the room"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the publish script as the task would: `tag` is the node's number
    /// for the publish, `again` whether it is sent again.
    async fn publish(
        conn: &mut redis::aio::MultiplexedConnection,
        frame: &str,
        tag: &str,
        again: bool,
    ) -> (String, u64) {
        let mut invocation = scripts::PUBLISH.prepare_invoke();
        invocation
            .key("t:{r}:meta")
            .key("t:{r}:history")
            .arg(frame)
            .arg(16)
            .arg(60_000)
            .arg(60_000)
            .arg("fresh")
            .arg("t:{r}:live")
            .arg(1 << 20)
            .arg(tag)
            .arg(if again { "1" } else { "0" });
        let reply: Value = invocation
            .invoke_async(conn)
            .await
            .expect("the script runs");
        value::published(reply).expect("{epoch, seq}")
    }

    #[tokio::test]
    async fn a_publish_sent_again_after_it_ran_is_not_published_twice() {
        let redis = nagare_testkit::redis::RedisServer::start().await;
        let client = redis::Client::open(redis.url()).expect("a Redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        assert_eq!(publish(&mut conn, "a", "n1:1", false).await.1, 1);
        assert_eq!(publish(&mut conn, "b", "n2:1", false).await.1, 2);
        // Its reply was lost: sent again, it is found, and not added.
        assert_eq!(publish(&mut conn, "a", "n1:1", true).await.1, 1);
        let kept: u64 = redis::cmd("XLEN")
            .arg("t:{r}:history")
            .query_async(&mut conn)
            .await
            .expect("XLEN");
        assert_eq!(kept, 2);
        // One that never ran is published, even when sent again: the search
        // stops at the node's older publish.
        assert_eq!(publish(&mut conn, "c", "n1:2", true).await.1, 3);
        assert_eq!(publish(&mut conn, "d", "n1:3", false).await.1, 4);
    }

    #[test]
    fn the_queue_is_bounded_in_publishes_and_bytes_but_takes_one_of_any_size() {
        let pending = Pending::new(3, 100);
        assert!(
            pending.admit(1_000).is_ok(),
            "one publish, whatever its size"
        );
        assert!(pending.admit(1).is_err(), "past the bytes");
        pending.done(1_000);
        assert!(pending.admit(40).is_ok() && pending.admit(40).is_ok());
        assert!(pending.admit(40).is_err(), "120 bytes");
        assert!(pending.admit(10).is_ok());
        assert!(pending.admit(1).is_err(), "three publishes");
        assert_eq!(pending.count(), 3);
    }
}
