//! Locks that outlive a panic.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, even when a panic elsewhere poisoned it: every statement of the
/// broker that holds a lock leaves the data consistent, so nothing is left
/// half-done.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
