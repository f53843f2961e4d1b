//! nagare: design-first WebSocket services over Goa's wire protocol.
//!
//! This is the runtime that generated code and user binaries link. A service is
//! described with `nagare-design`; `nagare-codegen` generates types, a service
//! trait, an axum router and a typed client from that design, and the generated
//! code uses only this crate.
//!
//! | module | what lives there |
//! |---|---|
//! | [`server`] | serving routers ([`ServerOptions`], [`server::Listener`]), the upgrade, the live connections |
//! | [`client`] | dialing and calling ([`client::Dialer`], [`client::Request`]), retries, resumable streams |
//! | [`stream`] | the typed stream handles of the three streaming patterns, both sides |
//! | [`conn`] | one connection: its settings ([`ConnConfig`]), the outbound queue, the driver |
//! | [`broker`] | rooms: numbered messages, history and presence, in memory or on Redis |
//! | [`resume`] | the `nagare.v1` extension: resume points and its frames |
//! | [`message`] | how values become JSON text frames ([`Message`], [`Validate`]) |
//! | [`ws`] | the adapter over the WebSocket crate: frames, limits, compression |
//! | [`close`] | the close codes and what a caller can do about each |
//! | [`security`] | the security schemes passed to a service's auth hooks |
//!
//! plus [`metrics`] (feature `prometheus`), [`tls`] (feature `tls`), `flags`
//! (feature `cli`: the connection flags of a service binary) and `testing`
//! (feature `testing`: a service's router and streams in process, for tests). The
//! errors ([`StreamError`], [`ClientError`], [`DecodeError`], [`GoaError`]) are
//! at the root.
//!
//! The wire protocol is Goa's: one JSON value per text message (compact, followed
//! by `\n`), the client ends its stream with the JSON `null`, the server ends with
//! close 1000 `server closing connection`, and errors after the upgrade close the
//! socket with a documented code instead of leaving it hanging (see
//! `docs/protocol.md`).
//!
//! # Example
//!
//! Serving a generated router until SIGINT or SIGTERM, then closing every
//! connection gracefully:
//!
//! ```no_run
//! # async fn example(app: nagare::axum::Router) -> std::io::Result<()> {
//! // let app = chat::server::router(MyChat::new(), options.clone());
//! let options = nagare::ServerOptions::new();
//! let listener = nagare::server::Listener::bind("127.0.0.1:8080").await?;
//! options.serve(listener, app, std::time::Duration::from_secs(10)).await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]
// A build with one side only (`server` or `client` off) leaves helpers of
// the other side unused; the default build, which has both, is the one
// checked for dead code.
#![cfg_attr(
    not(all(feature = "server", feature = "client")),
    allow(dead_code, unused_imports)
)]

pub mod broker;
mod cause;
#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "client")]
pub mod client;
pub mod close;
#[doc(hidden)]
pub mod codegen;
pub mod conn;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod message;
pub mod resume;
pub mod security;
#[cfg(feature = "server")]
pub mod server;
pub mod stream;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tls")]
pub mod tls;
pub mod ws;

#[cfg(all(feature = "cli", feature = "server"))]
pub use cli::flags;
#[cfg(feature = "prometheus")]
pub use server::metrics;

/// Includes the code `nagare-codegen` generated for the API named `name` (its
/// `api(..)` name in snake case): what `tonic::include_proto!` is to tonic.
///
/// ```ignore
/// // src/lib.rs of a crate whose build.rs runs `Builder::build_script`
/// nagare::include_api!("guide");
/// ```
///
/// The same as `include!(concat!(env!("OUT_DIR"), "/guide.rs"))`.
#[macro_export]
macro_rules! include_api {
    ($name:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $name, ".rs"));
    };
}

/// The axum that generated routers are built with: serve them, or merge them
/// with routes of your own, through this re-export, so the axum your code
/// names is always the one nagare uses.
#[cfg(feature = "server")]
pub use axum;

pub use broker::{MemoryBroker, Publisher, Room, Rooms, SharedBroker};
#[cfg(feature = "cli")]
pub use cli::CliError;
#[cfg(feature = "client")]
pub use client::{
    ConnectionState, Dialer, Request, ResumableBidiStream, ResumableStream, RetryPolicy,
};
pub use close::{CloseCode, ErrorKind};
pub use conn::{Conn, ConnConfig, Priority, SlowConsumer};
pub use conn::{OriginPolicy, Rate};
pub use error::{
    Cause, ClientError, DecodeError, GoaError, StreamError, ValidationError, ValidationErrors,
};
pub use message::{Message, Validate};
pub use resume::ResumePoint;
#[cfg(feature = "server")]
pub use server::{EndpointName, ServerOptions, StreamFailure};
pub use stream::{
    BidiClientStream, BidiServerStream, ClientSendResultStream, ClientSendStream, ClientStream,
    RawStream, ServerRecvResultStream, ServerRecvStream, ServerStream, StreamReceiver,
    StreamSender, ViewName,
};
