//! Counting connections as they are accepted, in all and per client address,
//! and the upgrade rate of each address: what [`Limits`] allows, decided once
//! per connection (and per upgrade) without waiting.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::rate::Bucket;
use crate::server::limits::Limits;

/// The server's connection counts and rate buckets.
#[derive(Debug)]
pub(crate) struct Gate {
    limits: Limits,
    total: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    buckets: Mutex<Buckets>,
}

#[derive(Debug, Default)]
struct Buckets {
    by_ip: HashMap<IpAddr, Bucket>,
    swept: Option<Instant>,
}

/// Why a connection or an upgrade is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The server has `max_connections`.
    Full,
    /// The client's address has `max_connections_per_ip`.
    FullForAddress,
    /// The client's address upgrades faster than `upgrade_rate_per_ip`; the
    /// next token comes in this long.
    TooFast(Duration),
}

impl Refusal {
    /// The metric label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Refusal::Full => "max_connections",
            Refusal::FullForAddress => "max_connections_per_ip",
            Refusal::TooFast(_) => "upgrade_rate",
        }
    }
}

/// One admitted connection: counted until dropped. Shared by the HTTP
/// connection and, once upgraded, its WebSocket task.
#[derive(Debug)]
pub(crate) struct Pass {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Drop for Pass {
    fn drop(&mut self) {
        let open = self.gate.total.fetch_sub(1, Ordering::Relaxed) - 1;
        metrics::gauge!("nagare_server_connections").set(open as f64);
        let mut per_ip = lock(&self.gate.per_ip);
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every statement that holds these locks leaves the counts consistent.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How often idle rate buckets are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

impl Gate {
    pub(crate) fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Gate {
            limits,
            total: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
            buckets: Mutex::new(Buckets::default()),
        })
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Connections counted now.
    #[cfg(test)]
    pub(crate) fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Counts a connection from `ip`, or says why it is refused.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Pass, Refusal> {
        if self.total.fetch_add(1, Ordering::Relaxed) >= self.limits.max_connections {
            self.total.fetch_sub(1, Ordering::Relaxed);
            return Err(Refusal::Full);
        }
        let mut per_ip = lock(&self.per_ip);
        let n = per_ip.entry(ip).or_insert(0);
        if self
            .limits
            .max_connections_per_ip
            .is_some_and(|max| *n >= max)
        {
            if *n == 0 {
                per_ip.remove(&ip);
            }
            drop(per_ip);
            self.total.fetch_sub(1, Ordering::Relaxed);
            return Err(Refusal::FullForAddress);
        }
        *n += 1;
        drop(per_ip);
        metrics::gauge!("nagare_server_connections").set(self.total.load(Ordering::Relaxed) as f64);
        Ok(Pass {
            gate: self.clone(),
            ip,
        })
    }

    /// Takes an upgrade token for `ip`, or says how long until one.
    pub(crate) fn upgrade(&self, ip: IpAddr) -> Result<(), Refusal> {
        let Some(rate) = self.limits.upgrade_rate_per_ip else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        if buckets
            .swept
            .is_none_or(|t| now.duration_since(t) >= SWEEP_EVERY)
        {
            buckets.swept = Some(now);
            // A full bucket is the same as no bucket.
            buckets.by_ip.retain(|_, b| !b.is_full(now));
        }
        buckets
            .by_ip
            .entry(ip)
            .or_insert_with(|| Bucket::full(rate, now))
            .take(now)
            .map_err(Refusal::TooFast)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn connections_are_counted_in_all_and_per_address() {
        let gate = Gate::new(Limits {
            max_connections: 3,
            max_connections_per_ip: Some(2),
            ..Limits::default()
        });
        let a1 = gate.admit(ip(1)).expect("a1");
        let _a2 = gate.admit(ip(1)).expect("a2");
        assert_eq!(gate.admit(ip(1)).err(), Some(Refusal::FullForAddress));
        let _b1 = gate.admit(ip(2)).expect("b1");
        assert_eq!(gate.admit(ip(3)).err(), Some(Refusal::Full));
        assert_eq!(gate.open(), 3);
        drop(a1);
        assert_eq!(gate.open(), 2);
        let _a3 = gate.admit(ip(1)).expect("a's slot is free again");
    }

    #[test]
    fn upgrades_spend_tokens_that_come_back_with_time() {
        let gate = Gate::new(Limits {
            upgrade_rate_per_ip: Some(crate::rate::Rate {
                per_second: 1000.0,
                burst: 2,
            }),
            ..Limits::default()
        });
        assert!(gate.upgrade(ip(1)).is_ok());
        assert!(gate.upgrade(ip(1)).is_ok());
        let Err(Refusal::TooFast(wait)) = gate.upgrade(ip(1)) else {
            panic!("the bucket is empty")
        };
        assert!(wait <= Duration::from_millis(1), "{wait:?}");
        // Another address has a bucket of its own.
        assert!(gate.upgrade(ip(2)).is_ok());
        std::thread::sleep(Duration::from_millis(2));
        assert!(gate.upgrade(ip(1)).is_ok());
    }
}
