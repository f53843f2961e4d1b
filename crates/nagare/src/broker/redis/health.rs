//! Whether this node reaches Redis now: set down when the connection drops or
//! a command finds Redis unreachable, up when Redis answers again. Readiness
//! probes read it, `nagare_broker_connected` shows it, and each change is one
//! log line.

use std::sync::atomic::{AtomicBool, Ordering};

/// The node's view of Redis.
#[derive(Debug)]
pub(super) struct Health {
    connected: AtomicBool,
}

impl Health {
    /// Connected: a broker starts once Redis answered.
    pub(super) fn new() -> Self {
        metrics::gauge!("nagare_broker_connected").set(1.0);
        Health {
            connected: AtomicBool::new(true),
        }
    }

    /// Redis answered.
    pub(super) fn up(&self) {
        if !self.connected.swap(true, Ordering::SeqCst) {
            metrics::gauge!("nagare_broker_connected").set(1.0);
            tracing::info!("Redis answers again");
        }
    }

    /// Redis could not be reached, for `why`.
    pub(super) fn down(&self, why: &str) {
        if self.connected.swap(false, Ordering::SeqCst) {
            metrics::gauge!("nagare_broker_connected").set(0.0);
            tracing::warn!(reason = why, "Redis unreachable: publishes wait for it");
        }
    }

    /// Whether Redis answered last time it was asked.
    pub(super) fn is_up(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }
}
