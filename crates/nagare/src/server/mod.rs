//! Serving a design's endpoints.
//!
//! A generated router (`<service>::server::router(service, options)`) is an
//! ordinary `axum::Router`: serve it with [`ServerOptions::serve`], which runs it
//! on a [`Listener`] (TCP or TLS) until SIGINT/SIGTERM and then shuts down
//! gracefully, or merge it into an application of your own.
//!
//! What lives here:
//! - [`ServerOptions`]: the settings every endpoint shares, settings for one
//!   endpoint ([`EndpointName`]), the shutdown token and the connection table;
//! - [`Listener`] and [`nodelay`]: where connections are accepted, and
//!   [`Limits`]: what is accepted before an upgrade (deadlines, sizes, counts),
//!   per client address ([`ClientAddr`], from trusted proxies' headers);
//! - [`upgrade`]: the WebSocket upgrade of a hand-written endpoint, and the
//!   connection task that runs a service method next to its connection (with
//!   [`StreamFailure`], how a method's error becomes a close frame);
//! - [`ConnectionManager`]: the live connections, to list, inspect and close;
//! - the browser-origin policy ([`OriginPolicy`]);
//! - [`documents`]: the API's AsyncAPI and OpenAPI documents, served when an
//!   application asks for it;
//! - [`health`]: `/healthz` and `/readyz` for load balancers and probes.
//!
//! The request decoding and responses generated handlers use are in the hidden
//! `codegen` module.
//!
//! # Example
//!
//! A hand-written endpoint that echoes raw messages:
//!
//! ```no_run
//! use nagare::axum::{extract::Request, http::HeaderMap, routing::get, Router};
//! use nagare::server::{Listener, ServerOptions};
//!
//! # async fn example() -> std::io::Result<()> {
//! let options = ServerOptions::new();
//! // Declared where the route is built: settings may name it from then on.
//! let endpoint = options.endpoint("raw", "echo");
//! let shared = options.clone();
//! let app = Router::new().route(
//!     "/echo",
//!     get(move |request: Request| {
//!         let options = shared.clone();
//!         async move {
//!             let (mut parts, _) = request.into_parts();
//!             nagare::server::upgrade(&mut parts, &options, endpoint, HeaderMap::new(), |conn| async move {
//!                 let mut stream = nagare::stream::RawStream::new(conn);
//!                 while let Some(data) = stream.recv().await? {
//!                     stream.send(data).await?;
//!                 }
//!                 Ok::<(), nagare::StreamError>(())
//!             })
//!         }
//!     }),
//! );
//! let listener = Listener::bind("127.0.0.1:8080").await?;
//! options.serve(listener, app, std::time::Duration::from_secs(10)).await?;
//! # Ok(()) }
//! ```

mod client_addr;
pub(crate) mod credentials;
mod documents;
mod endpoint;
mod failures;
mod gate;
pub mod health;
mod limits;
mod listener;
mod manager;
#[cfg(feature = "prometheus")]
pub mod metrics;
mod options;
mod origin;
pub(crate) mod peer_log;
mod serving;
pub(crate) mod telemetry;
// What only generated code calls lives in these three, re-exported by the
// hidden `crate::codegen`.
pub(crate) mod params;
pub(crate) mod response;
pub(crate) mod upgrade;

pub use client_addr::{ClientAddr, IpRange};
pub use documents::{documents, SECURITY_HEADERS};
pub use endpoint::{EndpointName, UnservedEndpoint};
pub use failures::FailureLimit;
pub use limits::Limits;
pub use listener::{nodelay, Listener, NoDelay};
pub use manager::{ConnId, ConnectionManager, ConnectionPhase, ConnectionSnapshot};
pub use options::{shutdown_signal, ServerOptions, ShutdownReport};
pub use upgrade::{upgrade, StreamFailure};

pub use crate::conn::OriginPolicy;
pub use origin::Origin;
