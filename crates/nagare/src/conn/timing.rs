//! The clocks of a connection: how long it may stay quiet, and when each
//! liveness check (ping, dead peer, idle) is due.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use crate::conn::config::ConnConfig;

/// The durations the driver needs, apart from the rest of the configuration so
/// that each connection's task carries only these: whole milliseconds in 32 bits
/// (rounded up, at most 49 days), 20 bytes instead of 80 for every connection.
#[derive(Clone, Copy)]
pub(super) struct Timing {
    /// 0: heartbeats off.
    ping_interval_ms: u32,
    pong_timeout_ms: u32,
    /// 0: no idle timeout.
    idle_timeout_ms: u32,
    write_timeout_ms: u32,
    close_timeout_ms: u32,
}

/// Milliseconds, rounded up so that a non-zero duration stays non-zero.
fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_micros().div_ceil(1000)).unwrap_or(u32::MAX)
}

fn duration(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms))
}

impl Timing {
    pub(super) fn of(c: &ConnConfig) -> Self {
        Timing {
            ping_interval_ms: c.ping_interval.map_or(0, |d| millis(d).max(1)),
            pong_timeout_ms: millis(c.pong_timeout),
            idle_timeout_ms: c.idle_timeout.map_or(0, |d| millis(d).max(1)),
            write_timeout_ms: millis(c.write_timeout),
            close_timeout_ms: millis(c.close_timeout),
        }
    }

    pub(super) fn ping_interval(&self) -> Option<Duration> {
        (self.ping_interval_ms > 0).then(|| duration(self.ping_interval_ms))
    }

    pub(super) fn pong_timeout(&self) -> Duration {
        duration(self.pong_timeout_ms)
    }

    pub(super) fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_timeout_ms > 0).then(|| duration(self.idle_timeout_ms))
    }

    pub(super) fn write_timeout(&self) -> Duration {
        duration(self.write_timeout_ms)
    }

    pub(super) fn close_timeout(&self) -> Duration {
        duration(self.close_timeout_ms)
    }
}

/// `fut`, bounded by `limit` counted from the first time it has to wait. A
/// write that completes at once, the usual case, reads no clock and sets no
/// timer (a `tokio::time::timeout` around every batch did both).
pub(super) fn within<F: Future>(limit: Duration, fut: F) -> Within<F> {
    Within {
        fut,
        limit: Limit::new(limit),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`within`]: a type rather than an `async fn`, which would
    /// keep `fut` twice (as its argument and as the local it is pinned in),
    /// and every connection's driver holds one while it writes.
    pub(super) struct Within<F> {
        #[pin]
        fut: F,
        limit: Limit,
    }
}

impl<F: Future> Future for Within<F> {
    type Output = Result<F::Output, TimedOut>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(out) = this.fut.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        this.limit.poll_expired(cx).map(Err)
    }
}

/// A time limit on waiting, counted from the first wait: the timer is
/// boxed and made only then, so an operation that never waits, or one that
/// pauses without waiting on anything (a write batch giving a producer a
/// turn), sets none. A timer costs an allocation, a timer-wheel entry and,
/// when it is the runtime's earliest, a wake of the runtime's driver.
pub(super) struct Limit {
    limit: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Limit {
    pub(super) fn new(limit: Duration) -> Self {
        Limit { limit, sleep: None }
    }

    /// The caller is about to wait: ready once `limit` has passed since its
    /// first wait; until then `cx` is woken when it does.
    pub(super) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<TimedOut> {
        let limit = self.limit;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        sleep.as_mut().poll(cx).map(|()| TimedOut)
    }

    /// Whether the caller has waited yet (the timer exists).
    #[cfg(test)]
    pub(super) fn started(&self) -> bool {
        self.sleep.is_some()
    }
}

pin_project_lite::pin_project! {
    /// The one timer of a connection: every deadline (liveness checks, the
    /// closing deadline) shares it. It is moved only when a deadline comes
    /// earlier than the armed one (when it fires early, the driver finds
    /// nothing due): a timer per message would cost a timer-wheel insertion
    /// each.
    ///
    /// Asked on every turn of the driver whether it fired, it polls the
    /// timer only when it may have (or to register a new waker): polling
    /// registers the waker again each time, two atomic reference counts and
    /// a swap per turn for a timer that fires once in thirty seconds.
    pub(super) struct Alarm {
        #[pin]
        sleep: Sleep,
        armed: Option<Instant>,
        // The waker the timer holds, if it was polled since it was armed.
        registered: Option<Waker>,
    }
}

impl Alarm {
    /// An alarm not armed yet; `now` is any instant (the timer is set when
    /// the alarm is armed).
    pub(super) fn new(now: Instant) -> Self {
        Alarm {
            sleep: tokio::time::sleep_until(now),
            armed: None,
            registered: None,
        }
    }

    /// Makes the alarm go off at `at` at the latest.
    pub(super) fn arm(self: Pin<&mut Self>, at: Instant) {
        let this = self.project();
        if this.armed.is_none_or(|a| at < a) {
            this.sleep.reset(at);
            *this.armed = Some(at);
            *this.registered = None;
        }
    }

    /// Whether the alarm went off (once per arming); if not, `cx` is woken
    /// when it does.
    pub(super) fn poll_fired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        let this = self.project();
        if this.armed.is_none() {
            return false;
        }
        let current = this
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()));
        if current && !this.sleep.is_elapsed() {
            return false;
        }
        if this.sleep.poll(cx).is_ready() {
            *this.armed = None;
            *this.registered = None;
            return true;
        }
        if !current {
            *this.registered = Some(cx.waker().clone());
        }
        false
    }
}

/// A bounded operation ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TimedOut;

/// The liveness clocks of a connection.
pub(super) struct Clocks {
    /// Last time anything arrived from the peer.
    pub(super) heard: Instant,
    /// When the outstanding ping was sent, if one is.
    pub(super) pinged: Option<Instant>,
    /// Last data message in either direction.
    pub(super) data: Instant,
}

/// What a liveness timer asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Due {
    Ping,
    Dead,
    Idle,
}

impl Clocks {
    /// Clocks of a connection that opened at `now`.
    pub(super) fn started(now: Instant) -> Self {
        Clocks {
            heard: now,
            pinged: None,
            data: now,
        }
    }

    /// The peer was heard from (any frame): it gets a full interval again.
    pub(super) fn heard(&mut self, now: Instant) {
        self.heard = now;
        self.pinged = None;
    }

    /// The next liveness event and when it is due.
    pub(super) fn next(&self, config: &Timing) -> Option<(Instant, Due)> {
        let mut next: Option<(Instant, Due)> = None;
        let mut consider = |at: Instant, due: Due| {
            if next.as_ref().is_none_or(|(t, _)| at < *t) {
                next = Some((at, due));
            }
        };
        if let Some(interval) = config.ping_interval() {
            match self.pinged {
                Some(sent) => consider(sent + config.pong_timeout(), Due::Dead),
                None => consider(self.heard + interval, Due::Ping),
            }
        }
        if let Some(idle) = config.idle_timeout() {
            consider(self.data + idle, Due::Idle);
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::wake_count::WakeCount;

    #[tokio::test(start_paused = true)]
    async fn an_alarm_wakes_its_waker_once_due_and_fires_once() {
        let (count, waker) = WakeCount::waker();
        let mut cx = Context::from_waker(&waker);
        let mut alarm = std::pin::pin!(Alarm::new(Instant::now()));
        assert!(!alarm.as_mut().poll_fired(&mut cx), "not armed");
        alarm.as_mut().arm(Instant::now() + Duration::from_secs(30));
        // A later deadline does not move it.
        alarm.as_mut().arm(Instant::now() + Duration::from_secs(60));
        for _ in 0..3 {
            assert!(!alarm.as_mut().poll_fired(&mut cx));
        }
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(!alarm.as_mut().poll_fired(&mut cx));
        assert_eq!(count.get(), 0);
        tokio::time::advance(Duration::from_secs(1)).await;
        tokio::task::yield_now().await;
        assert_eq!(count.get(), 1, "woken when due");
        assert!(alarm.as_mut().poll_fired(&mut cx));
        assert!(!alarm.as_mut().poll_fired(&mut cx), "fires once per arming");
        // Armed again, earlier deadlines win, and a new waker is used.
        alarm.as_mut().arm(Instant::now() + Duration::from_secs(30));
        alarm.as_mut().arm(Instant::now() + Duration::from_secs(5));
        let (other, other_waker) = WakeCount::waker();
        assert!(!alarm.as_mut().poll_fired(&mut cx));
        assert!(!alarm
            .as_mut()
            .poll_fired(&mut Context::from_waker(&other_waker)));
        tokio::time::advance(Duration::from_secs(5)).await;
        tokio::task::yield_now().await;
        assert_eq!(other.get(), 1, "the latest waker is woken");
        assert!(alarm
            .as_mut()
            .poll_fired(&mut Context::from_waker(&other_waker)));
    }

    fn timing(ping: Option<u64>, idle: Option<u64>) -> Timing {
        Timing::of(&ConnConfig {
            ping_interval: ping.map(Duration::from_secs),
            pong_timeout: Duration::from_secs(5),
            idle_timeout: idle.map(Duration::from_secs),
            ..ConnConfig::default()
        })
    }

    #[test]
    fn durations_round_up_to_milliseconds_and_zero_means_off() {
        assert_eq!(millis(Duration::from_micros(1)), 1);
        assert_eq!(millis(Duration::from_secs(u64::MAX)), u32::MAX);
        let t = timing(None, None);
        assert_eq!(t.ping_interval(), None);
        assert_eq!(t.idle_timeout(), None);
        assert_eq!(t.pong_timeout(), Duration::from_secs(5));
    }

    #[test]
    fn a_ping_is_due_after_the_interval_then_the_peer_is_dead_after_the_timeout() {
        let t0 = Instant::now();
        let mut clocks = Clocks::started(t0);
        let t = timing(Some(30), None);
        assert_eq!(
            clocks.next(&t),
            Some((t0 + Duration::from_secs(30), Due::Ping))
        );
        clocks.pinged = Some(t0 + Duration::from_secs(30));
        assert_eq!(
            clocks.next(&t),
            Some((t0 + Duration::from_secs(35), Due::Dead))
        );
        clocks.heard(t0 + Duration::from_secs(31));
        assert_eq!(
            clocks.next(&t),
            Some((t0 + Duration::from_secs(61), Due::Ping))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_limit_counts_from_the_first_wait() {
        let limit = Duration::from_secs(1);
        assert_eq!(within(limit, async { 7 }).await.ok(), Some(7));
        let t0 = Instant::now();
        assert!(within(limit, std::future::pending::<()>()).await.is_err());
        assert_eq!(t0.elapsed(), limit);
    }

    #[test]
    fn the_earliest_of_ping_and_idle_wins() {
        let t0 = Instant::now();
        let clocks = Clocks::started(t0);
        assert_eq!(
            clocks.next(&timing(Some(30), Some(10))),
            Some((t0 + Duration::from_secs(10), Due::Idle))
        );
        assert_eq!(clocks.next(&timing(None, None)), None);
    }
}
