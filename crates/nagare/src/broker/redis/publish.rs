//! Publishing through one task per broker, in order, with group commit: every
//! publish asked for while a batch is with Redis goes out in the next one, as
//! one pipeline. A publish takes its place in the queue when it is asked for,
//! so a publisher that does not wait for each acknowledgement still publishes
//! in order, and Redis sees one round trip per batch instead of per message.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Value;
use tokio::sync::{mpsc, oneshot};

use super::{failure, scripts, value};
use crate::broker::BrokerError;

/// Publishes sent in one pipeline at most.
const MAX_BATCH: usize = 512;

/// One publish: the publish script's keys and arguments, and who waits.
pub(super) struct Request {
    pub(super) keys: [String; 2],
    pub(super) args: [String; 7],
    pub(super) reply: oneshot::Sender<Result<(String, u64), BrokerError>>,
}

/// Runs batches until every sender is gone.
pub(super) async fn run(
    mut conn: ConnectionManager,
    mut requests: mpsc::UnboundedReceiver<Request>,
    timeout: Duration,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = requests.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let mut pipe = redis::pipe();
        // Each publish answers for itself; the script is loaded with every
        // batch (cheap when Redis has it), so a restarted Redis never answers
        // NOSCRIPT.
        pipe.ignore_errors().load_script(&scripts::PUBLISH);
        for r in &batch {
            let mut invocation = scripts::PUBLISH.prepare_invoke();
            for k in &r.keys {
                invocation.key(k);
            }
            for a in &r.args {
                invocation.arg(a);
            }
            pipe.invoke_script(&invocation);
        }
        let outcome =
            tokio::time::timeout(timeout, pipe.query_async::<Vec<Value>>(&mut conn)).await;
        let replies: Vec<Result<(String, u64), BrokerError>> = match outcome {
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
            Ok(Err(e)) => {
                let e = failure::of_reply("publish", e);
                batch.iter().map(|_| Err(e.clone())).collect()
            }
            Err(elapsed) => {
                let e = failure::no_answer("publish", timeout, elapsed);
                batch.iter().map(|_| Err(e.clone())).collect()
            }
        };
        for (r, reply) in batch.drain(..).zip(replies) {
            if reply.is_err() {
                metrics::counter!("nagare_broker_errors_total", "op" => "publish").increment(1);
            }
            // A publisher that stopped waiting does not mind.
            let _ = r.reply.send(reply);
        }
    }
}
