//! What one peer may send on a connection: a rate (a token bucket) and totals
//! (messages and bytes over the connection's life), checked by the driver for
//! each data message it reads.
//!
//! A peer past any of them is closed with 1008 and a reason naming the limit:
//! a rate bounds how fast a client can make the service work, the totals bound
//! what a client stream can make a method accumulate (a summary of everything
//! it was sent, say) however slowly it sends.

use std::time::Instant;

use crate::conn::config::ConnConfig;
use crate::conn::rate::{Bucket, Rate};

/// The limits of one connection and what was spent against them. Held boxed
/// by the driver, and only when the connection has a limit.
#[derive(Debug)]
pub(crate) struct Quota {
    rate: Option<Bucket>,
    max_messages: Option<u64>,
    max_bytes: Option<u64>,
    messages: u64,
    bytes: u64,
    /// The end of the client's stream (its `null`) came: it was not counted.
    ended: bool,
    /// The limit the last refused message went past.
    exceeded: Option<Exceeded>,
}

/// Which limit a peer went past.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Exceeded {
    Rate(Rate),
    Messages(u64),
    Bytes(u64),
}

impl Quota {
    /// The quota `config` sets, or `None` when it sets no limit.
    pub(crate) fn of(config: &ConnConfig, now: Instant) -> Option<Box<Quota>> {
        let (rate, messages, bytes) = (
            config.message_rate,
            config.max_received_messages,
            config.max_received_bytes,
        );
        if rate.is_none() && messages.is_none() && bytes.is_none() {
            return None;
        }
        Some(Box::new(Quota {
            rate: rate.map(|r| Bucket::full(r, now)),
            max_messages: messages,
            max_bytes: bytes,
            messages: 0,
            bytes: 0,
            ended: false,
            exceeded: None,
        }))
    }

    /// Counts a data message of `len` bytes; `false` when it goes past a
    /// limit (which [`reason`](Self::reason) then names). `now` is read only
    /// when the quota has a rate; `is_end` only for a message past the
    /// message total: the client's end of stream (`null`) does not count
    /// against it, once, so a stream of `max_received_messages` messages can
    /// still be ended.
    pub(crate) fn take(
        &mut self,
        len: usize,
        now: impl FnOnce() -> Instant,
        is_end: impl FnOnce() -> bool,
    ) -> bool {
        self.messages += 1;
        self.bytes += len as u64;
        let mut over = self.max_messages.is_some_and(|max| self.messages > max);
        if over && !self.ended && is_end() {
            self.ended = true;
            self.messages -= 1;
            over = false;
        }
        let exceeded = if over {
            self.max_messages.map(Exceeded::Messages)
        } else if self.max_bytes.is_some_and(|max| self.bytes > max) {
            self.max_bytes.map(Exceeded::Bytes)
        } else {
            match self.rate.as_mut() {
                Some(bucket) => bucket
                    .take(now())
                    .err()
                    .map(|_| Exceeded::Rate(bucket.rate())),
                None => None,
            }
        };
        self.exceeded = exceeded;
        exceeded.is_none()
    }

    /// The close reason for the last message refused.
    pub(crate) fn reason(&self) -> String {
        match self.exceeded {
            Some(Exceeded::Rate(r)) => format!("message rate limit exceeded ({r})"),
            Some(Exceeded::Messages(n)) => {
                format!("message limit of the connection exceeded ({n} messages)")
            }
            Some(Exceeded::Bytes(n)) => {
                format!("byte limit of the connection exceeded ({n} bytes)")
            }
            None => "message limit exceeded".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(messages: Option<u64>, bytes: Option<u64>) -> ConnConfig {
        ConnConfig {
            max_received_messages: messages,
            max_received_bytes: bytes,
            ..ConnConfig::default()
        }
    }

    #[test]
    fn no_limit_no_quota() {
        assert!(Quota::of(&ConnConfig::default(), Instant::now()).is_none());
    }

    #[test]
    fn totals_count_every_message_of_the_connection() {
        let now = Instant::now();
        let mut q = Quota::of(&config(Some(3), None), now).expect("a quota");
        let not_end = || false;
        assert!((0..3).all(|_| q.take(1_000_000, || now, not_end)));
        assert!(!q.take(1, || now, not_end));
        assert_eq!(
            q.reason(),
            "message limit of the connection exceeded (3 messages)"
        );
        let mut q = Quota::of(&config(None, Some(10)), now).expect("a quota");
        assert!(q.take(6, || now, not_end) && q.take(4, || now, not_end));
        assert!(!q.take(1, || now, not_end));
        assert_eq!(
            q.reason(),
            "byte limit of the connection exceeded (10 bytes)"
        );
    }

    #[test]
    fn the_clock_is_read_only_for_a_rate() {
        let mut q = Quota::of(&config(Some(10), None), Instant::now()).expect("a quota");
        assert!(q.take(1, || panic!("no rate: no clock"), || false));
    }

    #[test]
    fn the_end_of_a_full_stream_does_not_count_once() {
        let now = Instant::now();
        let mut q = Quota::of(&config(Some(2), None), now).expect("a quota");
        assert!(q.take(1, || now, || false) && q.take(1, || now, || false));
        // The `null` after a whole stream goes through; a second one does not.
        assert!(q.take(4, || now, || true));
        assert!(!q.take(4, || now, || true));
    }
}
