//! The counters of one connection: written by its driver, read by whoever
//! inspects it (the server's connection manager).

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters a connection's driver keeps up to date. Relaxed atomics: each value
/// is exact on its own, a snapshot of several is not one instant.
#[derive(Debug, Default)]
pub(crate) struct ConnStats {
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    errors: AtomicU64,
    flushes: AtomicU64,
    last_heard_ms: AtomicU64,
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) messages_in: u64,
    pub(crate) messages_out: u64,
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    pub(crate) errors: u64,
    /// Writes to the socket: a batch of queued messages costs one.
    pub(crate) flushes: u64,
    /// Milliseconds after the start when the peer was last heard from.
    pub(crate) last_heard_ms: u64,
}

impl ConnStats {
    /// `messages` data messages totalling `bytes` were read.
    pub(crate) fn received(&self, messages: u32, bytes: usize) {
        self.messages_in
            .fetch_add(u64::from(messages), Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A batch of `messages` totalling `bytes` was written and flushed.
    pub(crate) fn flushed(&self, messages: u64, bytes: u64) {
        self.messages_out.fetch_add(messages, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
        self.flushes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn heard_at(&self, ms: u64) {
        self.last_heard_ms.store(ms, Ordering::Relaxed);
    }

    pub(crate) fn counts(&self) -> Counts {
        Counts {
            messages_in: self.messages_in.load(Ordering::Relaxed),
            messages_out: self.messages_out.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            flushes: self.flushes.load(Ordering::Relaxed),
            last_heard_ms: self.last_heard_ms.load(Ordering::Relaxed),
        }
    }
}
