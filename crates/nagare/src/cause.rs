//! The cause kept inside the runtime's errors.

use std::fmt;
use std::sync::Arc;

/// An underlying error kept as the cause of a runtime error: shared, so that
/// the errors holding it stay cheap to clone. The error that holds it returns
/// the underlying error itself from `source()`, so it can be downcast to its
/// concrete type (`std::io::Error`, `tungstenite`'s...).
#[derive(Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl Cause {
    /// Keeps `error` as a cause.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Cause(Arc::new(error))
    }
}

impl From<Box<dyn std::error::Error + Send + Sync + 'static>> for Cause {
    fn from(error: Box<dyn std::error::Error + Send + Sync + 'static>) -> Self {
        Cause(Arc::from(error))
    }
}

/// The underlying error, as a trait object: what `source()` returns.
impl std::ops::Deref for Cause {
    type Target = dyn std::error::Error + Send + Sync + 'static;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}
