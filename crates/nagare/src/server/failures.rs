//! Failed requests a unary endpoint allows per client (a login's wrong
//! passwords): token buckets keyed by the client's address and by the values
//! of the attributes the design names, spent by each answer 401 or 403.
//!
//! A request whose bucket is empty is answered 429 with `Retry-After` before
//! its credentials are checked, so guessing costs the guesser time, not the
//! server work; one log line says so when a client starts being refused, not
//! one per refusal. The buckets are bounded in number
//! ([`FailureLimit::MAX_KEYS`]): a full
//! bucket is the same as none and is swept, and past the bound the oldest
//! entries make room.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use crate::conn::rate::{Bucket, Rate};
use crate::error::GoaError;
use crate::server::client_addr::ClientAddr;
use crate::server::peer_log::Cut;

/// Bytes of an attribute's value a key keeps.
const MAX_KEY_BYTES: usize = 256;

/// How often full buckets are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The failure limit of one unary endpoint. Generated routers hold one per
/// method whose design has `failures(..)`; a hand-written handler can hold
/// one too.
#[derive(Debug)]
pub struct FailureLimit {
    method: &'static str,
    rate: Rate,
    state: Mutex<Buckets>,
}

#[derive(Debug, Default)]
struct Buckets {
    by_key: HashMap<Box<str>, Entry>,
    swept: Option<Instant>,
}

#[derive(Debug)]
struct Entry {
    bucket: Bucket,
    /// Requests refused since the bucket ran out: the first one is logged.
    refused: u64,
    /// When the key last failed, to make room by age.
    last: Instant,
}

impl FailureLimit {
    /// Keys one endpoint keeps buckets for at most: ~100 bytes each, 10 MB
    /// in all, whatever names a guesser makes up.
    pub const MAX_KEYS: usize = 100_000;

    /// A limit of `rate` failures for `method` (named in its log lines).
    pub fn new(method: &'static str, rate: Rate) -> Self {
        FailureLimit {
            method,
            rate,
            state: Mutex::new(Buckets::default()),
        }
    }

    /// `burst` failures at once, `per_minute` a minute on average.
    pub fn per_minute(method: &'static str, burst: u32, per_minute: u32) -> Self {
        Self::new(
            method,
            Rate {
                per_second: f64::from(per_minute.max(1)) / 60.0,
                burst: burst.max(1),
            },
        )
    }

    /// The keys of a request: its client's address ([`ClientAddr`], else
    /// the TCP peer's), and `name=value` for each of `attributes`.
    pub fn keys(parts: &Parts, attributes: &[(&str, &dyn Display)]) -> Vec<String> {
        let client = parts
            .extensions
            .get::<ClientAddr>()
            .map(|c| c.0)
            .or_else(|| {
                parts
                    .extensions
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|c| c.0.ip())
            });
        let mut keys = Vec::with_capacity(1 + attributes.len());
        if let Some(ip) = client {
            keys.push(format!("address={ip}"));
        }
        for (name, value) in attributes {
            let mut key = format!("{name}={value}");
            if key.len() > MAX_KEY_BYTES {
                let mut end = MAX_KEY_BYTES;
                while !key.is_char_boundary(end) {
                    end -= 1;
                }
                key.truncate(end);
            }
            keys.push(key);
        }
        keys
    }

    fn lock(&self) -> MutexGuard<'_, Buckets> {
        // Every statement that holds the lock leaves the buckets consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Ok` when every key may still fail; else the 429 to answer, with
    /// `Retry-After` until the last of them has a token again.
    // A `Result` whose error is the whole response: the handler returns it.
    #[allow(clippy::result_large_err)]
    pub fn check(&self, keys: &[String]) -> Result<(), Response> {
        let now = Instant::now();
        let mut state = self.lock();
        let mut wait = None::<Duration>;
        for key in keys {
            let Some(entry) = state.by_key.get_mut(key.as_str()) else {
                continue;
            };
            match entry.bucket.available(now) {
                Ok(()) => entry.refused = 0,
                Err(w) => {
                    entry.refused += 1;
                    if entry.refused == 1 {
                        tracing::warn!(
                            method = self.method,
                            key = %Cut(key),
                            retry_after = ?w,
                            "refusing requests after repeated failures"
                        );
                    }
                    wait = Some(wait.map_or(w, |m| m.max(w)));
                }
            }
        }
        drop(state);
        match wait {
            None => Ok(()),
            Some(wait) => {
                metrics::counter!("nagare_connections_refused_total", "reason" => "failures")
                    .increment(1);
                Err(too_many_failures(wait))
            }
        }
    }

    /// Spends a token of every key when `response` is a failure (401, 403).
    pub fn record(&self, keys: &[String], response: &Response) {
        if !matches!(
            response.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            return;
        }
        let now = Instant::now();
        let mut state = self.lock();
        if state
            .swept
            .is_none_or(|t| now.duration_since(t) >= SWEEP_EVERY)
        {
            state.swept = Some(now);
            state.by_key.retain(|_, e| !e.bucket.is_full(now));
        }
        for key in keys {
            if !state.by_key.contains_key(key.as_str()) && state.by_key.len() >= Self::MAX_KEYS {
                make_room(&mut state.by_key, now);
            }
            let entry = state
                .by_key
                .entry(key.as_str().into())
                .or_insert_with(|| Entry {
                    bucket: Bucket::full(self.rate, now),
                    refused: 0,
                    last: now,
                });
            entry.last = now;
            let _ = entry.bucket.take(now);
        }
    }

    /// Buckets kept now.
    pub fn keys_kept(&self) -> usize {
        self.lock().by_key.len()
    }
}

/// Drops full buckets; if none is, the tenth that failed longest ago.
fn make_room(by_key: &mut HashMap<Box<str>, Entry>, now: Instant) {
    by_key.retain(|_, e| !e.bucket.is_full(now));
    if by_key.len() < FailureLimit::MAX_KEYS {
        return;
    }
    let mut ages: Vec<Instant> = by_key.values().map(|e| e.last).collect();
    let cut = ages.len() / 10;
    let (_, &mut oldest_kept, _) = ages.select_nth_unstable(cut);
    by_key.retain(|_, e| e.last > oldest_kept);
}

/// 429 with Goa's temporary error and `Retry-After`.
fn too_many_failures(wait: Duration) -> Response {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut res = GoaError {
        temporary: true,
        ..GoaError::new(
            "too_many_requests",
            format!("too many failed attempts: try again in {seconds} s"),
        )
    }
    .into_response_with(StatusCode::TOO_MANY_REQUESTS);
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    fn status(code: u16) -> Response {
        StatusCode::from_u16(code)
            .unwrap_or(StatusCode::OK)
            .into_response()
    }

    #[test]
    fn failures_spend_a_bucket_per_key_and_an_empty_one_refuses() {
        let limit = FailureLimit::per_minute("login", 2, 60);
        let (alice, bob) = (
            vec!["address=192.0.2.1".to_owned(), "user=alice".to_owned()],
            vec!["address=192.0.2.2".to_owned(), "user=bob".to_owned()],
        );
        for _ in 0..2 {
            assert!(limit.check(&alice).is_ok());
            limit.record(&alice, &status(401));
        }
        let refused = limit
            .check(&alice)
            .expect_err("two failures spent the burst");
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            refused
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        // Successes spend nothing; another client is not refused.
        limit.record(&bob, &status(200));
        assert!(limit.check(&bob).is_ok());
        // The same user from another address is: the user's bucket is empty.
        let elsewhere = vec!["address=192.0.2.3".to_owned(), "user=alice".to_owned()];
        assert!(limit.check(&elsewhere).is_err());
    }

    #[test]
    fn made_up_keys_cannot_grow_the_buckets_past_their_bound() {
        let limit = FailureLimit::per_minute("login", 5, 1);
        for i in 0..FailureLimit::MAX_KEYS + 1000 {
            limit.record(&[format!("user={i}")], &status(401));
        }
        assert!(
            limit.keys_kept() <= FailureLimit::MAX_KEYS,
            "{}",
            limit.keys_kept()
        );
    }
}
