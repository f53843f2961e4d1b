//! Token buckets: how many things a peer may do per second, with bursts.

use std::time::{Duration, Instant};

/// A token bucket: `per_second` on average, up to `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// Tokens the bucket holds: what can be spent at once.
    pub burst: u32,
}

impl Rate {
    /// `per_second` with a burst of as many.
    pub fn per_second(per_second: u32) -> Self {
        Rate {
            per_second: f64::from(per_second.max(1)),
            burst: per_second.max(1),
        }
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/s, bursts of {}", self.per_second, self.burst)
    }
}

/// A full bucket of a [`Rate`], spent one token at a time.
#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    rate: Rate,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub(crate) fn full(rate: Rate, now: Instant) -> Self {
        Bucket {
            rate,
            tokens: f64::from(rate.burst),
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * self.rate.per_second).min(f64::from(self.rate.burst));
        self.at = now;
    }

    /// Spends a token, or says how long until there is one.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.available(now)?;
        self.tokens -= 1.0;
        Ok(())
    }

    /// Whether a token is there, without spending it; else how long until
    /// there is one.
    pub(crate) fn available(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.rate.per_second,
            ))
        }
    }

    /// The bucket's rate.
    pub(crate) fn rate(&self) -> Rate {
        self.rate
    }

    /// Whether the bucket is full at `now` (it may as well not exist).
    pub(crate) fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= f64::from(self.rate.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_spends_its_burst_then_refills_at_its_rate() {
        let start = Instant::now();
        let mut b = Bucket::full(
            Rate {
                per_second: 10.0,
                burst: 2,
            },
            start,
        );
        assert!(b.take(start).is_ok());
        assert!(b.take(start).is_ok());
        let wait = b.take(start).expect_err("empty");
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        assert!(b.take(start + Duration::from_millis(100)).is_ok());
        assert!(!b.is_full(start + Duration::from_millis(100)));
        assert!(b.is_full(start + Duration::from_secs(1)));
    }
}
