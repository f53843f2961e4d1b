//! Counting connections as they are accepted, in all and per client address,
//! and the upgrade rate of each address: what [`Limits`] allows, decided once
//! per connection (and per upgrade) without waiting.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::conn::rate::Bucket;
use crate::server::client_addr::is_trusted;
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

/// One admitted connection (or, behind a trusted proxy, one request of a
/// client): counted until dropped. Shared by the HTTP connection and, once
/// upgraded, its WebSocket task.
#[derive(Debug)]
pub(crate) struct Pass {
    gate: Arc<Gate>,
    /// Counted among the server's connections.
    total: bool,
    /// Counted among this address's.
    ip: Option<IpAddr>,
}

impl Drop for Pass {
    fn drop(&mut self) {
        if self.total {
            let open = self.gate.total.fetch_sub(1, Ordering::Relaxed) - 1;
            metrics::gauge!("nagare_server_connections").set(open as f64);
        }
        if let Some(ip) = self.ip {
            let mut per_ip = lock(&self.gate.per_ip);
            if let Some(n) = per_ip.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    per_ip.remove(&ip);
                }
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

    /// Counts a connection from `peer`, or says why it is refused. A trusted
    /// proxy's connection is counted in all only: its requests are counted by
    /// the clients they come from ([`admit_client`](Self::admit_client)).
    pub(crate) fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Pass, Refusal> {
        if self.total.fetch_add(1, Ordering::Relaxed) >= self.limits.max_connections {
            self.total.fetch_sub(1, Ordering::Relaxed);
            return Err(Refusal::Full);
        }
        let per_address = !is_trusted(peer, &self.limits.trusted_proxies);
        if per_address && self.count_address(peer).is_err() {
            self.total.fetch_sub(1, Ordering::Relaxed);
            return Err(Refusal::FullForAddress);
        }
        metrics::gauge!("nagare_server_connections").set(self.total.load(Ordering::Relaxed) as f64);
        Ok(Pass {
            gate: self.clone(),
            total: true,
            ip: per_address.then_some(peer),
        })
    }

    /// Counts a request (and the WebSocket it may become) of `client`, which
    /// a trusted proxy forwarded, among that address's connections.
    pub(crate) fn admit_client(self: &Arc<Self>, client: IpAddr) -> Result<Pass, Refusal> {
        self.count_address(client)?;
        Ok(Pass {
            gate: self.clone(),
            total: false,
            ip: Some(client),
        })
    }

    /// Adds one to `ip`'s connections, unless it has as many as it may.
    fn count_address(&self, ip: IpAddr) -> Result<(), Refusal> {
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
            return Err(Refusal::FullForAddress);
        }
        *n += 1;
        Ok(())
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
    fn a_trusted_proxy_is_counted_in_all_and_its_clients_by_address() {
        let gate = Gate::new(Limits {
            max_connections: 10,
            max_connections_per_ip: Some(1),
            trusted_proxies: vec!["127.0.0.0/8".parse().expect("a range")],
            ..Limits::default()
        });
        // Two connections of the proxy: not one address's two.
        let _p1 = gate.admit(ip(1)).expect("p1");
        let _p2 = gate.admit(ip(1)).expect("p2");
        assert_eq!(gate.open(), 2);
        let client = IpAddr::from([203, 0, 113, 9]);
        let c1 = gate.admit_client(client).expect("c1");
        assert_eq!(
            gate.admit_client(client).err(),
            Some(Refusal::FullForAddress)
        );
        assert!(gate.admit_client(IpAddr::from([203, 0, 113, 10])).is_ok());
        drop(c1);
        assert!(gate.admit_client(client).is_ok());
        assert_eq!(gate.open(), 2);
    }

    #[test]
    fn upgrades_spend_tokens_that_come_back_with_time() {
        let gate = Gate::new(Limits {
            upgrade_rate_per_ip: Some(crate::conn::rate::Rate {
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
