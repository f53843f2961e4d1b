//! What a peer can make the server log, bounded: a value a peer sent is cut
//! before it is written ([`Cut`]), and an event a peer can repeat at will (a
//! refused origin) is logged a few times per interval, the rest counted and
//! reported with the next line ([`LogBudget`]). Without these, 2,000 requests
//! with a 15 KB `Origin` write 30 MB of log in a second.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Characters of a peer's value a log line keeps.
pub(crate) const LOGGED_CHARS: usize = 128;

/// A value a peer sent, as a log line shows it: escaped (no line breaks or
/// control characters reach the log), at most [`LOGGED_CHARS`] characters,
/// then how long it was.
pub(crate) struct Cut<'a>(pub(crate) &'a str);

impl fmt::Display for Cut<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.char_indices();
        let end = chars.nth(LOGGED_CHARS).map(|(i, _)| i);
        let shown = end.map_or(self.0, |i| &self.0[..i]);
        write!(f, "{}", shown.escape_debug())?;
        if end.is_some() {
            write!(f, "... ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

/// At most `lines` log lines per `per` for one kind of event.
pub(crate) struct LogBudget {
    lines: u32,
    per: Duration,
    state: Mutex<Window>,
}

struct Window {
    started: Option<Instant>,
    logged: u32,
    /// Events not logged since the last line.
    skipped: u64,
}

impl LogBudget {
    /// A budget of `lines` per `per`.
    pub(crate) const fn new(lines: u32, per: Duration) -> Self {
        LogBudget {
            lines,
            per,
            state: Mutex::new(Window {
                started: None,
                logged: 0,
                skipped: 0,
            }),
        }
    }

    /// Whether this event may be logged; if so, how many were skipped since
    /// the last line (to say in it).
    pub(crate) fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> Option<u64> {
        let mut w = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if w.started.is_none_or(|s| now.duration_since(s) >= self.per) {
            w.started = Some(now);
            w.logged = 0;
        }
        if w.logged < self.lines {
            w.logged += 1;
            Some(std::mem::take(&mut w.skipped))
        } else {
            w.skipped += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_and_escaped() {
        assert_eq!(Cut("short").to_string(), "short");
        assert_eq!(Cut("a\nb").to_string(), "a\\nb");
        let long = "x".repeat(15_000);
        let cut = Cut(&long).to_string();
        assert!(cut.starts_with(&"x".repeat(LOGGED_CHARS)));
        assert!(cut.ends_with("... (15000 bytes)"), "{cut}");
        assert!(cut.len() < 200);
        // Multi-byte characters are never split.
        let wide = "é".repeat(200);
        assert!(Cut(&wide).to_string().ends_with("... (400 bytes)"));
    }

    #[test]
    fn a_budget_logs_a_few_per_interval_and_counts_the_rest() {
        let budget = LogBudget::new(2, Duration::from_secs(10));
        let t = Instant::now();
        assert_eq!(budget.allow_at(t), Some(0));
        assert_eq!(budget.allow_at(t), Some(0));
        assert_eq!(budget.allow_at(t), None);
        assert_eq!(budget.allow_at(t), None);
        // A new interval: the next line says what was skipped.
        assert_eq!(budget.allow_at(t + Duration::from_secs(10)), Some(2));
    }
}
