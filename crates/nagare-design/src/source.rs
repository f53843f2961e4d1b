//! Where in the user's design an expression was written.
//!
//! The DSL's methods are `#[track_caller]`: each expression records the file,
//! line and column of the call that made it, so a validation error points at
//! the line of `design.rs` to fix, not only at a logical path.

use std::fmt;
use std::panic::Location;

/// A place in the design's source: file, line and column of a DSL call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source(&'static Location<'static>);

impl Source {
    /// The location of the caller of the `#[track_caller]` function this is
    /// called from.
    #[track_caller]
    pub(crate) fn caller() -> Self {
        Source(Location::caller())
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
