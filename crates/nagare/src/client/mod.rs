//! Calling a design's endpoints: dialing streams and making unary calls, with
//! retries, reconnection and resumable streams.
//!
//! A generated client (`<service>::client::Client`) sits on a [`Dialer`]: the
//! server's URL, the connection settings, a [`RetryPolicy`] for connecting, one
//! for reconnecting resumable streams, and a channel of [`ConnectionState`]s for
//! a UI to show. Each call builds a [`Request`] from its payload.
//!
//! What lives here:
//! - [`Request`]: path, query, headers, cookies and body of one call;
//! - [`Dialer`]: how calls connect, with their policies;
//! - [`RetryPolicy`], [`ConnectionState`], [`states`]: when to try again, and
//!   where a connection stands;
//! - [`ResumableStream`], [`ResumableBidiStream`]: server streams that reconnect
//!   and resume where they stopped (the `nagare.v1` extension).
//!
//! Errors before any message are [`ClientError`](crate::ClientError)s; each
//! says whether a retry can help ([`ClientError::kind`](crate::ClientError::kind)).

pub(crate) mod credentials;
pub(crate) mod dialer;
pub(crate) mod request;
pub(crate) mod resumable;
mod retry;

pub use credentials::bearer;
pub use dialer::Dialer;
pub use request::{Request, Response};
pub use resumable::{ResumableBidiStream, ResumableSender, ResumableStream};
pub use retry::{states, ConnectionState, RetryPolicy, StateSender};
