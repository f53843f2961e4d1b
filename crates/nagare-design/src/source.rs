//! Where in the user's design an expression was written.
//!
//! The DSL's methods are `#[track_caller]`: each expression records the file,
//! line and column of the call that made it, so a validation error points at
//! the line of `design.rs` to fix, not only at a logical path.

use std::collections::BTreeSet;
use std::fmt;
use std::panic::Location;
use std::sync::Mutex;

/// Every file a DSL call was made from in this process: the design's files.
static FILES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// The files the design read so far was written in (every file a DSL call
/// came from, in this process): what a build script must watch. The DSL's
/// own files are not among them.
pub fn design_files() -> Vec<&'static str> {
    let own = Location::caller().file();
    let own_dir = own.rsplit_once('/').map_or("", |(dir, _)| dir);
    FILES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .copied()
        .filter(|f| own_dir.is_empty() || !f.starts_with(own_dir))
        .collect()
}

/// A place in the design's source: file, line and column of a DSL call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source(&'static Location<'static>);

impl Source {
    /// The location of the caller of the `#[track_caller]` function this is
    /// called from.
    #[track_caller]
    pub(crate) fn caller() -> Self {
        let location = Location::caller();
        FILES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(location.file());
        Source(location)
    }

    /// The source file, as the compiler names it.
    pub fn file(&self) -> &'static str {
        self.0.file()
    }

    /// The line, from 1.
    pub fn line(&self) -> u32 {
        self.0.line()
    }

    /// The column, from 1.
    pub fn column(&self) -> u32 {
        self.0.column()
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file(), self.line(), self.column())
    }
}
