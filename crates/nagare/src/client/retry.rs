//! Connecting with retry: exponential backoff with jitter, bounded by attempts
//! and by time, cancellable at any point, and observable as connection states.
//!
//! Only errors a retry can fix are retried: an unreachable server, a dropped
//! connection, a timeout, HTTP 5xx/429 and close codes 1001/1011/1012/1013 (their
//! [`ErrorKind`] is not fatal). A 4xx, a designed error or an invalid payload ends
//! the call at once, whatever the policy says.
//!
//! The delays come from `backon`'s exponential schedule; this module only waits
//! them out, so that a wait can be cancelled and reported.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use nagare::RetryPolicy;
//!
//! let policy = RetryPolicy::default()
//!     .initial_delay(Duration::from_millis(50))
//!     .max_delay(Duration::from_secs(5))
//!     .max_attempts(Some(8))
//!     .max_elapsed(Some(Duration::from_secs(30)));
//! // Give it to a generated client: `Client::new(url).with_retry(policy)`.
//! # let _ = policy;
//! ```

use std::future::Future;
use std::time::Duration;

use backon::BackoffBuilder;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::close::ErrorKind;
use crate::error::{ClientError, StreamError};
use crate::resume::ResumePoint;

/// When and how often to try again.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    initial_delay: Duration,
    max_delay: Duration,
    factor: f32,
    jitter: bool,
    max_attempts: Option<u32>,
    max_elapsed: Option<Duration>,
    cancel: CancellationToken,
}

impl Default for RetryPolicy {
    /// 100 ms, doubling up to 10 s, with jitter, at most 10 attempts.
    fn default() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            factor: 2.0,
            jitter: true,
            max_attempts: Some(10),
            max_elapsed: None,
            cancel: CancellationToken::new(),
        }
    }
}

impl RetryPolicy {
    /// The wait before the first retry; later waits grow by the factor.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest wait between two attempts (before jitter).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// How much each wait grows (2 doubles it).
    pub fn factor(mut self, factor: f32) -> Self {
        self.factor = factor;
        self
    }

    /// Adds a random part of up to the wait itself to each wait, so that clients
    /// cut off together do not come back together. On by default.
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// Attempts in all, the first included; `None` for no limit. As a reconnect
    /// policy: reconnection attempts after each drop.
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// No retry is started once this much time has passed since the first
    /// attempt; `None` for no limit.
    pub fn max_elapsed(mut self, limit: Option<Duration>) -> Self {
        self.max_elapsed = limit;
        self
    }

    /// Retries until cancelled (no limit on attempts or time).
    pub fn forever(self) -> Self {
        self.max_attempts(None).max_elapsed(None)
    }

    /// Cancelling `token` stops the retries: a wait in progress ends at once and
    /// the call fails with a cancelled error. Dropping the call's future works too.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// The token that cancels this policy's retries.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// The waits of an outage: one before each attempt but the first (or, after
    /// a connection was lost, before every attempt).
    fn schedule(&self, first_attempt_waits: bool) -> backon::ExponentialBackoff {
        let mut builder = backon::ExponentialBuilder::default()
            .with_min_delay(self.initial_delay)
            .with_max_delay(self.max_delay)
            .with_factor(self.factor);
        builder = match self.max_attempts {
            Some(n) if first_attempt_waits => builder.with_max_times(n as usize),
            Some(n) => builder.with_max_times(n.saturating_sub(1) as usize),
            None => builder.without_max_times(),
        };
        if self.jitter {
            builder = builder.with_jitter();
        }
        builder.build()
    }
}

/// Where a client connection stands, for a UI to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Dialing; `attempt` counts from 1 for each outage.
    Connecting {
        /// The attempt under way, from 1.
        attempt: u32,
    },
    /// Connected; for a resumed stream, `resumed_after` is the sequence number the
    /// stream continues after. A resumable stream whose server numbers it
    /// (`nagare.v1`) is connected once the server has said where the stream
    /// starts (its first frame, which receiving reads): from then on, nothing
    /// published is missed.
    Connected {
        /// The number of the last message before the resumed ones, if resumed.
        resumed_after: Option<u64>,
    },
    /// The connection failed or dropped; attempt number `attempt` starts after
    /// `delay`.
    Reconnecting {
        /// The attempt that comes next, from 1.
        attempt: u32,
        /// How long until it.
        delay: Duration,
        /// Why the last connection or attempt failed.
        error: String,
    },
    /// The server's stream restarted (its history was lost, in a process
    /// restart or a broker that lost its data): its numbers start again in a
    /// new epoch. The stream goes on after `now`; messages published after
    /// `previous` in the old epoch that the new one does not hold are lost,
    /// which the application may want to say or make up for (fetch the state).
    Restarted {
        /// The last position in the old epoch.
        previous: ResumePoint,
        /// Where the stream goes on.
        now: ResumePoint,
    },
    /// Over: the stream ended, failed for good, or the retries gave up.
    Closed {
        /// Why, for a human.
        reason: String,
    },
}

/// The sending side of a state channel (see [`states`]).
pub type StateSender = watch::Sender<ConnectionState>;

/// A channel for connection states: give the sender to a client
/// (`with_states`) and watch the receiver.
pub fn states() -> (StateSender, watch::Receiver<ConnectionState>) {
    watch::channel(ConnectionState::Connecting { attempt: 1 })
}

/// Errors a retry loop can tell apart: whether to try again, and how to say it
/// was cancelled.
pub(crate) trait Retryable {
    /// What a caller can do about the error.
    fn kind(&self) -> ErrorKind;
    /// The error for a call whose retries were cancelled.
    fn cancelled() -> Self;
}

impl Retryable for ClientError {
    fn kind(&self) -> ErrorKind {
        ClientError::kind(self)
    }
    fn cancelled() -> Self {
        ClientError::Cancelled
    }
}

impl Retryable for StreamError {
    fn kind(&self) -> ErrorKind {
        StreamError::kind(self)
    }
    fn cancelled() -> Self {
        StreamError::Cancelled
    }
}

/// The retries of one outage: which attempt this is, the waits still allowed,
/// and since when it lasts. A new outage starts the schedule again.
pub(crate) struct Outage {
    policy: Option<RetryPolicy>,
    states: Option<StateSender>,
    delays: Option<backon::ExponentialBackoff>,
    attempt: u32,
    started: Instant,
}

impl Outage {
    /// An outage with `policy` (`None`: a single attempt), reporting on `states`:
    /// the first attempt is made at once.
    pub(crate) fn new(policy: Option<&RetryPolicy>, states: Option<&StateSender>) -> Self {
        Self::starting(policy, states, false)
    }

    /// An outage that starts with a connection lost: pass the error to
    /// [`failed`](Self::failed), which waits before reconnection attempt 1;
    /// `max_attempts` counts reconnection attempts.
    pub(crate) fn after_loss(policy: Option<&RetryPolicy>, states: Option<&StateSender>) -> Self {
        Self::starting(policy, states, true)
    }

    fn starting(
        policy: Option<&RetryPolicy>,
        states: Option<&StateSender>,
        after_loss: bool,
    ) -> Self {
        Outage {
            policy: policy.cloned(),
            states: states.cloned(),
            delays: policy.map(|p| p.schedule(after_loss)),
            // After a loss the first call to `failed` counts the loss itself.
            attempt: u32::from(!after_loss),
            started: Instant::now(),
        }
    }

    fn report(&self, state: ConnectionState) {
        if let Some(tx) = &self.states {
            tx.send_replace(state);
        }
    }

    /// Runs one attempt, reporting `Connecting`; the policy's cancellation ends
    /// it at once.
    pub(crate) async fn run<T, E, Fut>(&self, attempt: Fut) -> Result<T, E>
    where
        E: Retryable,
        Fut: Future<Output = Result<T, E>>,
    {
        self.report(ConnectionState::Connecting {
            attempt: self.attempt,
        });
        match &self.policy {
            Some(p) => tokio::select! {
                biased;
                () = p.cancel.cancelled() => Err(E::cancelled()),
                r = attempt => r,
            },
            None => attempt.await,
        }
    }

    fn give_up<E>(&self, reason: String, error: E) -> Result<(), E> {
        self.report(ConnectionState::Closed { reason });
        Err(error)
    }

    /// After a failed attempt (or a connection lost): `Err(error)` when it is not
    /// worth retrying or the policy gives up (reported as `Closed`); otherwise
    /// waits the next delay (reported as `Reconnecting`) and returns `Ok` for the
    /// caller to try again. Cancellation during the wait fails at once.
    pub(crate) async fn failed<E>(&mut self, error: E) -> Result<(), E>
    where
        E: Retryable + std::fmt::Display,
    {
        if !error.kind().is_retryable() {
            return self.give_up(error.to_string(), error);
        }
        let (Some(policy), Some(delays)) = (&self.policy, &mut self.delays) else {
            return self.give_up(error.to_string(), error);
        };
        let Some(delay) = delays.next() else {
            let reason = format!("gave up after {} attempts: {error}", self.attempt);
            return self.give_up(reason, error);
        };
        let elapsed = self.started.elapsed();
        if policy
            .max_elapsed
            .is_some_and(|limit| elapsed + delay > limit)
        {
            let reason = format!(
                "gave up after {} attempts in {elapsed:?}: {error}",
                self.attempt
            );
            return self.give_up(reason, error);
        }
        let cancel = policy.cancel.clone();
        self.attempt += 1;
        tracing::debug!(attempt = self.attempt, ?delay, %error, "retrying");
        self.report(ConnectionState::Reconnecting {
            attempt: self.attempt,
            delay,
            error: error.to_string(),
        });
        tokio::select! {
            biased;
            () = cancel.cancelled() => {
                let e = E::cancelled();
                self.give_up(e.to_string(), e)
            }
            () = tokio::time::sleep(delay) => Ok(()),
        }
    }
}

/// Runs `attempt` until it succeeds, fails with an error no retry can fix, or the
/// policy gives up (then the last error is returned). Without a policy, runs it
/// once. Every step is reported on `states`; a success reports nothing (the
/// caller knows what "connected" means for it).
pub(crate) async fn retry<T, E, F, Fut>(
    policy: Option<&RetryPolicy>,
    states: Option<&StateSender>,
    mut attempt: F,
) -> Result<T, E>
where
    E: Retryable + std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut outage = Outage::new(policy, states);
    loop {
        match outage.run(attempt()).await {
            Ok(v) => return Ok(v),
            Err(e) => outage.failed(e).await?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_grows_to_the_cap_and_stops_at_the_attempt_limit() {
        let policy = RetryPolicy::default()
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(400))
            .jitter(false)
            .max_attempts(Some(5));
        let delays: Vec<_> = policy.schedule(false).map(|d| d.as_millis()).collect();
        // Five attempts: four waits between them.
        assert_eq!(delays, vec![100, 200, 400, 400]);
    }

    #[test]
    fn jitter_stays_between_the_delay_and_twice_it() {
        let policy = RetryPolicy::default()
            .initial_delay(Duration::from_millis(100))
            .max_attempts(Some(50));
        for d in policy.schedule(false).take(1) {
            assert!(d >= Duration::from_millis(100) && d < Duration::from_millis(200));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn fatal_errors_are_not_retried_and_temporary_ones_are() {
        let policy = RetryPolicy::default().max_attempts(Some(3));
        let mut calls = 0;
        let r: Result<(), ClientError> = retry(Some(&policy), None, || {
            calls += 1;
            async { Err(ClientError::InvalidRequest("no".into())) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1);

        let mut calls = 0;
        let r: Result<(), ClientError> = retry(Some(&policy), None, || {
            calls += 1;
            async { Err(ClientError::unreachable("refused")) }
        })
        .await;
        assert!(matches!(r, Err(ClientError::Unreachable { .. })));
        assert_eq!(calls, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_loss_every_reconnection_attempt_waits_and_counts_from_one() {
        let policy = RetryPolicy::default()
            .jitter(false)
            .initial_delay(Duration::from_millis(10))
            .max_attempts(Some(2));
        let (tx, rx) = states();
        let mut outage = Outage::after_loss(Some(&policy), Some(&tx));
        let lost = || ClientError::unreachable("reset");
        assert!(outage.failed(lost()).await.is_ok());
        assert!(matches!(
            &*rx.borrow(),
            ConnectionState::Reconnecting { attempt: 1, delay, .. } if *delay == Duration::from_millis(10)
        ));
        let r: Result<(), _> = outage.run(async { Err(lost()) }).await;
        assert_eq!(*rx.borrow(), ConnectionState::Connecting { attempt: 1 });
        assert!(outage.failed(r.unwrap_err()).await.is_ok());
        let r: Result<(), _> = outage.run(async { Err(lost()) }).await;
        assert!(outage.failed(r.unwrap_err()).await.is_err());
        assert!(matches!(
            &*rx.borrow(),
            ConnectionState::Closed { reason } if reason.starts_with("gave up after 2 attempts")
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn the_time_limit_stops_retries_before_a_wait_that_would_pass_it() {
        let policy = RetryPolicy::default()
            .jitter(false)
            .initial_delay(Duration::from_secs(1))
            .max_attempts(None)
            .max_elapsed(Some(Duration::from_secs(5)));
        let (tx, rx) = states();
        let mut calls = 0;
        let r: Result<(), ClientError> = retry(Some(&policy), Some(&tx), || {
            calls += 1;
            async { Err(ClientError::unreachable("refused")) }
        })
        .await;
        assert!(r.is_err());
        // Waits of 1 s and 2 s fit in 5 s; the next one (4 s) would not.
        assert_eq!(calls, 3);
        assert!(
            matches!(&*rx.borrow(), ConnectionState::Closed { reason } if reason.starts_with("gave up after 3 attempts"))
        );
    }
}
