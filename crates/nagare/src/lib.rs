//! nagare: design-first WebSocket services over Goa's wire protocol.
//!
//! This is the runtime that generated code and user binaries link. A service is
//! described with `nagare-design`, `nagare-codegen` generates types, a service trait,
//! an axum router and a typed client from that design, and the generated code uses
//! only the public API of this crate:
//!
//! - [`stream`]: typed stream handles for the three streaming patterns
//!   ([`ServerStream`], [`BidiServerStream`], [`ClientStream`]...);
//! - [`server`]: the upgrade and the connection task that runs a service method;
//! - [`client`]: dialing an endpoint from a payload, with [`retry`] policies;
//! - [`resume`], [`replay`] and [`resumable`]: streams that survive disconnects
//!   (the opt-in `nagare.v1` extension);
//! - [`message`]: how messages become JSON text frames ([`Message`], [`Validate`]);
//! - [`validation`] and [`request`]: the checks behind generated validators and
//!   request decoders, with Goa's error names and wording;
//! - [`ws`]: the adapter over the WebSocket crate;
//! - [`close`]: the close codes and what they mean.
//!
//! The wire protocol is Goa's: one JSON value per text message (compact, followed
//! by `\n`), the client ends its stream with the JSON `null`, the server ends with
//! close 1000 `server closing connection`, and errors after the upgrade close the
//! socket with a documented code instead of leaving it hanging (see `docs/protocol.md`).

#[cfg(feature = "cli")]
pub mod cli;
pub mod client;
pub mod close;
mod conn;
mod error;
pub mod manager;
pub mod message;
#[cfg(feature = "prometheus")]
pub mod metrics;
pub mod origin;
pub mod outbound;
pub mod replay;
pub mod request;
pub mod resumable;
pub mod resume;
pub mod retry;
pub mod security;
pub mod server;
pub mod stream;
#[cfg(feature = "tls")]
pub mod tls;
pub mod validation;
pub mod ws;

pub use client::{ClientError, Dialer, Request, UpgradeRequest};
pub use close::{CloseCode, ErrorKind};
pub use conn::{Conn, ConnConfig};
pub use error::{DecodeError, GoaError, StreamError, ValidationError, ValidationErrors};
pub use manager::{ConnId, ConnectionManager, ConnectionSnapshot};
pub use message::{Message, Validate};
pub use origin::OriginPolicy;
pub use outbound::{Priority, SlowConsumer};
pub use replay::{ReplayError, ReplayLog};
pub use resumable::{ResumableBidiStream, ResumableSender, ResumableStream};
pub use resume::ResumePoint;
pub use retry::{ConnState, RetryPolicy};
pub use server::{EndpointName, ServerOptions, StreamFailure};
pub use stream::{
    BidiClientStream, BidiServerStream, ClientSendResultStream, ClientSendStream, ClientStream,
    RawStream, ServerRecvResultStream, ServerRecvStream, ServerStream, StreamReceiver,
    StreamSender, ViewName,
};

/// Crates generated code needs, re-exported so that a user crate depends on
/// `nagare` alone. Not part of the stable API for hand-written code.
#[doc(hidden)]
pub mod export {
    pub use axum;
    #[cfg(feature = "cli")]
    pub use clap;
    pub use regex;
    pub use serde;
    pub use serde_json;
    pub use tokio;
}
