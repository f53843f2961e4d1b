//! The live connections of a server: what each one is, what it has done, and
//! handles to close them or send to them.
//!
//! Every connection registers when its upgrade completes and is removed when its
//! task ends, however it ends: the entry's guard lives in the task's future,
//! which is dropped when the method returns, fails, panics or is aborted, so
//! the table holds exactly the connection tasks alive.
//!
//! ```no_run
//! # async fn example(options: nagare::ServerOptions) {
//! let manager = &options.connections;
//! for c in manager.list() {
//!     println!("{} {}/{} in={} out={}", c.id, c.service, c.method, c.messages_in, c.messages_out);
//! }
//! // Close every connection of one endpoint.
//! manager.close_where(|c| c.method == "subscribe", 1001, "maintenance");
//! # }
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crate::conn::{ConnStats, OutboundSender, Priority};
use crate::message::{to_frame, Message};
use crate::server::EndpointName;
use crate::ws::CloseFrame;

/// A connection's number, unique within its server.
pub type ConnId = u64;

/// Where a server connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionPhase {
    /// Serving.
    Open,
    /// Asked to close (by the manager, or a shutdown); finishing what it queued.
    Closing,
}

/// A connection as seen at one instant.
#[derive(Clone, Debug)]
pub struct ConnectionSnapshot {
    /// The connection's number.
    pub id: ConnId,
    /// The service of its endpoint.
    pub service: &'static str,
    /// The method of its endpoint.
    pub method: &'static str,
    /// The peer's address, when the server was built with connect info
    /// ([`ServerOptions::serve`](crate::server::ServerOptions::serve) is).
    pub remote: Option<SocketAddr>,
    /// When the connection opened.
    pub started: SystemTime,
    /// How long ago the peer was last heard from (any frame, pongs included).
    pub last_heard: Duration,
    /// Data messages received.
    pub messages_in: u64,
    /// Data messages sent.
    pub messages_out: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Payload bytes sent.
    pub bytes_out: u64,
    /// Failures of the connection (at most one: it is over after it).
    pub errors: u64,
    /// Socket writes; `messages_out / flushes` is the average batch.
    pub flushes: u64,
    /// Messages waiting in the outbound queue.
    pub queued: usize,
    /// Open or closing.
    pub phase: ConnectionPhase,
}

struct Entry {
    id: ConnId,
    endpoint: EndpointName,
    remote: Option<SocketAddr>,
    started: Instant,
    stats: Arc<ConnStats>,
    control: OutboundSender,
    state: AtomicU8,
}

impl Entry {
    fn snapshot(&self) -> ConnectionSnapshot {
        let counts = self.stats.counts();
        let heard = Duration::from_millis(counts.last_heard_ms);
        ConnectionSnapshot {
            id: self.id,
            service: self.endpoint.service,
            method: self.endpoint.method,
            remote: self.remote,
            started: SystemTime::now() - self.started.elapsed(),
            last_heard: self.started.elapsed().saturating_sub(heard),
            messages_in: counts.messages_in,
            messages_out: counts.messages_out,
            bytes_in: counts.bytes_in,
            bytes_out: counts.bytes_out,
            errors: counts.errors,
            flushes: counts.flushes,
            queued: self.control.len(),
            phase: if self.state.load(Ordering::Relaxed) == 0 {
                ConnectionPhase::Open
            } else {
                ConnectionPhase::Closing
            },
        }
    }

    fn close(&self, frame: CloseFrame) {
        self.state.store(1, Ordering::Relaxed);
        let _ = self.control.close(frame);
    }
}

#[derive(Default)]
struct Inner {
    entries: Mutex<HashMap<ConnId, Arc<Entry>>>,
    /// Connections reserved per endpoint (from the upgrade to the end).
    per_endpoint: Mutex<HashMap<EndpointName, usize>>,
    next_id: AtomicU64,
}

/// The live connections of a server (shared by every endpoint of its routers).
#[derive(Clone, Default)]
pub struct ConnectionManager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ConnectionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionManager")
            .field("live", &self.len())
            .finish()
    }
}

impl ConnectionManager {
    fn entries(&self) -> MutexGuard<'_, HashMap<ConnId, Arc<Entry>>> {
        // Entries are inserted and removed whole: a poisoned lock holds no
        // half-made state.
        self.inner.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// True when no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every live connection.
    pub fn list(&self) -> Vec<ConnectionSnapshot> {
        let mut all: Vec<_> = self.entries().values().map(|e| e.snapshot()).collect();
        all.sort_by_key(|c| c.id);
        all
    }

    /// One connection.
    pub fn get(&self, id: ConnId) -> Option<ConnectionSnapshot> {
        self.entries().get(&id).map(|e| e.snapshot())
    }

    /// Asks one connection to close with `code` and `reason` after what it has
    /// queued; false when it is not (or no longer) open.
    pub fn close(&self, id: ConnId, code: u16, reason: &str) -> bool {
        match self.entries().get(&id) {
            Some(e) => {
                e.close(CloseFrame::new(code, reason));
                true
            }
            None => false,
        }
    }

    /// The entries `pick` selects, taken out of the lock.
    fn chosen(&self, pick: impl Fn(&ConnectionSnapshot) -> bool) -> Vec<Arc<Entry>> {
        self.entries()
            .values()
            .filter(|e| pick(&e.snapshot()))
            .cloned()
            .collect()
    }

    /// Closes every connection `pick` selects; returns how many.
    pub fn close_where(
        &self,
        pick: impl Fn(&ConnectionSnapshot) -> bool,
        code: u16,
        reason: &str,
    ) -> usize {
        let chosen = self.chosen(pick);
        for e in &chosen {
            e.close(CloseFrame::new(code, reason));
        }
        chosen.len()
    }

    /// Closes every connection; returns how many.
    pub fn close_all(&self, code: u16, reason: &str) -> usize {
        self.close_where(|_| true, code, reason)
    }

    /// Sends `msg` (encoded once) to every connection `pick` selects, as if each
    /// connection's stream had sent it; returns how many took it. Each
    /// connection's slow-consumer policy applies, except that a full queue under
    /// the `Wait` policy takes the message anyway (a broadcast never blocks).
    pub fn broadcast<T: Message>(
        &self,
        msg: &T,
        priority: Priority,
        pick: impl Fn(&ConnectionSnapshot) -> bool,
    ) -> Result<usize, serde_json::Error> {
        let frame = to_frame(msg, None)?;
        Ok(self
            .chosen(pick)
            .iter()
            .filter(|e| e.control.push(frame.clone(), priority).is_ok())
            .count())
    }

    /// Reserves one of `max` connections of `endpoint`, from the upgrade to
    /// the end of the connection; `None` when all are taken.
    pub(crate) fn reserve(&self, endpoint: EndpointName, max: usize) -> Option<EndpointSlot> {
        let mut per = self
            .inner
            .per_endpoint
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let n = per.entry(endpoint).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(EndpointSlot {
            manager: self.clone(),
            endpoint,
        })
    }

    /// Registers a connection; the guard removes it when dropped.
    pub(crate) fn register(
        &self,
        endpoint: EndpointName,
        remote: Option<SocketAddr>,
        control: OutboundSender,
        stats: Arc<ConnStats>,
    ) -> Registration {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let entry = Arc::new(Entry {
            id,
            endpoint,
            remote,
            started: Instant::now(),
            stats: stats.clone(),
            control,
            state: AtomicU8::new(0),
        });
        self.entries().insert(id, entry);
        Registration {
            manager: self.clone(),
            id,
        }
    }
}

/// A connection counted against its endpoint's limit until dropped.
#[derive(Debug)]
pub(crate) struct EndpointSlot {
    manager: ConnectionManager,
    endpoint: EndpointName,
}

impl Drop for EndpointSlot {
    fn drop(&mut self) {
        let mut per = self
            .manager
            .inner
            .per_endpoint
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = per.get_mut(&self.endpoint) {
            *n -= 1;
            if *n == 0 {
                per.remove(&self.endpoint);
            }
        }
    }
}

/// A registered connection; removes itself from the manager when dropped.
pub(crate) struct Registration {
    manager: ConnectionManager,
    pub(crate) id: ConnId,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.manager.entries().remove(&self.id);
    }
}
