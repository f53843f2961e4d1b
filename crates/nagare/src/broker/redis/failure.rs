//! What a failed Redis command means to the broker's callers: Redis could not
//! be reached (try again later), or it answered something unexpected.

use tokio::time::error::Elapsed;

use crate::broker::BrokerError;

/// Whether a command failed because Redis cannot be reached (rather than
/// because of what was sent).
pub(super) fn is_unavailable(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal()
}

/// The broker's error for Redis's failure of `op`.
pub(super) fn of_reply(op: &str, e: redis::RedisError) -> BrokerError {
    if is_unavailable(&e) {
        BrokerError::unavailable(format!("Redis unreachable ({op})"), e)
    } else {
        BrokerError::Protocol(format!("{op}: {e}"))
    }
}

/// The broker's error for `op` not answered within `timeout`.
pub(super) fn no_answer(op: &str, timeout: std::time::Duration, elapsed: Elapsed) -> BrokerError {
    BrokerError::unavailable(
        format!("Redis did not answer {op} within {timeout:?}"),
        elapsed,
    )
}
