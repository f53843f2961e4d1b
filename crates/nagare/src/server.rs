//! Serving streaming endpoints: the upgrade, the connection task, and how a service
//! method's outcome becomes a close frame.
//!
//! Generated routers call [`upgrade`] once the initial payload is decoded and
//! validated, so every error up to that point is an HTTP response. The service
//! method then runs in the connection's task, next to the connection driver:
//!
//! - the method returns `Ok(())`: queued messages are written, then close 1000
//!   `server closing connection`;
//! - the method returns an error: close with the error's code and reason (see
//!   [`crate::close`]), never silently;
//! - the connection goes away first: the method's handles fail, and the method gets
//!   `ConnConfig::cancel_grace` to finish before it is dropped;
//! - the server shuts down: close 1001, then as above.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use axum::http::{request::Parts, HeaderMap};
use axum::response::Response;
use futures_util::SinkExt;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::close::{CloseCode, SERVER_CLOSING};
use crate::conn::{self, Conn, ConnConfig, Outbound, Side};
use crate::error::{GoaError, StreamError};
use crate::ws::{self, CloseFrame};

/// How a service error ends a stream. Generated error enums implement it; so does
/// [`StreamError`].
pub trait StreamFailure {
    /// The close frame sent to the client (code and a short reason that must not
    /// reveal internals).
    fn close_frame(&self) -> CloseFrame;
}

impl StreamFailure for StreamError {
    fn close_frame(&self) -> CloseFrame {
        StreamError::close_frame(self)
    }
}

/// Server-wide settings shared by every endpoint of a router.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Settings of each connection.
    pub conn: ConnConfig,
    /// Cancelled to shut down: every connection is closed with 1001.
    pub shutdown: CancellationToken,
}

impl ServerOptions {
    /// Options with the defaults and a fresh shutdown token.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Names of the endpoint, for logs and traces.
#[derive(Clone, Copy, Debug)]
pub struct EndpointName {
    pub service: &'static str,
    pub method: &'static str,
}

/// Answers an upgrade request: checks the handshake, returns the 101 response (with
/// `headers`, e.g. `Goa-View`), and spawns the connection task that runs `method`.
///
/// A request that is not a valid WebSocket handshake gets an HTTP error with Goa's
/// error body and `method` is not called.
pub fn upgrade<F, Fut, E>(
    parts: &mut Parts,
    options: &ServerOptions,
    endpoint: EndpointName,
    headers: HeaderMap,
    method: F,
) -> Response
where
    F: FnOnce(Conn) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: StreamFailure + Display + Send + 'static,
{
    let handshake = match ws::accept(parts) {
        Ok(h) => h,
        Err(e) => {
            let mut res =
                GoaError::new("bad_request", e.to_string()).into_response_with(e.status());
            res.headers_mut().extend(e.headers());
            return res;
        }
    };
    let response = handshake.response(headers);
    let config = options.conn.clone();
    let shutdown = options.shutdown.clone();
    let span = tracing::info_span!("ws", service = endpoint.service, method = endpoint.method);
    tokio::spawn(
        async move {
            match handshake.into_socket(config.ws).await {
                Ok(socket) => serve(socket, config, shutdown, method).await,
                Err(e) => tracing::debug!(error = %e, "upgrade hand-over failed"),
            }
        }
        .instrument(span),
    );
    response
}

async fn serve<S, F, Fut, E>(
    socket: ws::Socket<S>,
    config: ConnConfig,
    shutdown: CancellationToken,
    method: F,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    F: FnOnce(Conn) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: StreamFailure + Display,
{
    let (conn, driver) = conn::open(socket, &config, Side::Server);
    let mut control = conn.outbound.clone();
    let handler = method(conn);
    tokio::pin!(driver, handler);
    let mut shutting_down = false;
    let outcome = loop {
        tokio::select! {
            r = &mut handler => break Some(r),
            () = &mut driver => break None,
            () = shutdown.cancelled(), if !shutting_down => {
                shutting_down = true;
                let frame = CloseFrame::new(CloseCode::GOING_AWAY, "server shutting down");
                let _ = control.try_send(Outbound::Close(frame));
            }
        }
    };
    match outcome {
        Some(result) => {
            let frame = match &result {
                Ok(()) => CloseFrame::new(CloseCode::NORMAL, SERVER_CLOSING),
                Err(e) => {
                    tracing::info!(error = %e, "service method failed");
                    e.close_frame()
                }
            };
            // The close frame goes behind the messages already queued, while the
            // driver keeps writing them.
            let close = async {
                let _ = control.send(Outbound::Close(frame)).await;
            };
            let bound = config.close_timeout * 2;
            if tokio::time::timeout(bound, futures_util::future::join(close, &mut driver))
                .await
                .is_err()
            {
                tracing::debug!("peer did not complete the closing handshake in time");
            }
        }
        None => match tokio::time::timeout(config.cancel_grace, &mut handler).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "service method ended after the connection"),
            Err(_) => tracing::debug!("service method cancelled: connection gone"),
        },
    }
}

/// The service value shared by every connection of a router.
pub type Shared<S> = Arc<S>;
