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
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::close::{CloseCode, SERVER_CLOSING};
use crate::conn::{self, Conn, ConnConfig, Side};
use crate::error::{GoaError, StreamError};
use crate::manager::ConnectionManager;
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
    /// Every connection task, so shutdown can wait for them.
    pub tasks: TaskTracker,
    /// The live connections, with their counters and handles to close them.
    pub connections: ConnectionManager,
    /// Settings for particular endpoints, set from code; they win over the
    /// design's `ws` block and over `conn`.
    endpoints: std::sync::Arc<std::collections::HashMap<(String, String), ConnConfig>>,
}

/// What a graceful shutdown achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Connections still running when the deadline passed; they end when the
    /// process does.
    pub abandoned: usize,
}

impl ServerOptions {
    /// Options with the defaults and a fresh shutdown token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the connection settings of one endpoint (`service`, `method` as in the
    /// design), overriding `conn` and the design's `ws` block for it.
    pub fn set_endpoint(&mut self, service: &str, method: &str, config: ConnConfig) -> &mut Self {
        std::sync::Arc::make_mut(&mut self.endpoints)
            .insert((service.to_owned(), method.to_owned()), config);
        self
    }

    /// The settings of an endpoint: the ones set from code if any, else `conn`
    /// with `design` (the design's `ws` block, applied by generated code) on top.
    pub fn endpoint_config(
        &self,
        endpoint: EndpointName,
        design: impl FnOnce(&mut ConnConfig),
    ) -> ConnConfig {
        let key = (endpoint.service.to_owned(), endpoint.method.to_owned());
        match self.endpoints.get(&key) {
            Some(c) => c.clone(),
            None => {
                let mut c = self.conn.clone();
                design(&mut c);
                c
            }
        }
    }

    /// Stops the server's connections: no new upgrades are served, each
    /// connection is asked to close with 1001 `server shutting down`, service
    /// methods see their streams end, and this waits up to `deadline` for all of
    /// them. Call it once the HTTP listener has stopped accepting (for example
    /// after `axum::serve(..).with_graceful_shutdown(..)` returns).
    pub async fn shutdown_gracefully(&self, deadline: std::time::Duration) -> ShutdownReport {
        self.shutdown.cancel();
        self.tasks.close();
        if tokio::time::timeout(deadline, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                remaining = self.tasks.len(),
                "shutdown deadline passed with connections still open"
            );
        }
        ShutdownReport {
            abandoned: self.tasks.len(),
        }
    }
}

impl ServerOptions {
    /// Cancels `shutdown` on SIGINT (Ctrl-C) or SIGTERM, from a task of its own
    /// that ends with the shutdown however it comes.
    pub fn shutdown_on_signal(&self) {
        let stop = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = shutdown_signal() => {
                    tracing::info!("shutting down: closing every connection with 1001");
                    stop.cancel();
                }
                () = stop.cancelled() => {}
            }
        });
    }

    /// What a service binary does with its router: serves `app` on `listener`
    /// until SIGINT/SIGTERM or until `shutdown` is cancelled, then stops
    /// accepting, closes every connection with 1001 and waits up to `deadline`
    /// for them ([`shutdown_gracefully`](Self::shutdown_gracefully)).
    pub async fn serve(
        &self,
        listener: Listener,
        app: axum::Router,
        deadline: std::time::Duration,
    ) -> std::io::Result<ShutdownReport> {
        self.shutdown_on_signal();
        axum::serve(listener, app)
            .with_graceful_shutdown(self.shutdown.clone().cancelled_owned())
            .await?;
        Ok(self.shutdown_gracefully(deadline).await)
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
    let config = options.endpoint_config(endpoint, |_| {});
    if let Some(refusal) = check_origin(parts, &config) {
        return refusal;
    }
    upgrade_with(parts, options, config, endpoint, headers, method)
}

/// [`upgrade`] with the endpoint's settings already resolved (generated code
/// passes [`ServerOptions::endpoint_config`] with the design's `ws` block) and the
/// origin already checked with [`check_origin`] (generated handlers check it
/// first, before decoding or authenticating).
pub fn upgrade_with<F, Fut, E>(
    parts: &mut Parts,
    options: &ServerOptions,
    config: ConnConfig,
    endpoint: EndpointName,
    headers: HeaderMap,
    method: F,
) -> Response
where
    F: FnOnce(Conn) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: StreamFailure + Display + Send + 'static,
{
    if options.shutdown.is_cancelled() {
        handshake_failed("shutting_down");
        return GoaError {
            temporary: true,
            ..GoaError::new("unavailable", "the server is shutting down")
        }
        .into_response_with(axum::http::StatusCode::SERVICE_UNAVAILABLE);
    }
    #[allow(unused_mut)]
    let mut handshake =
        match ws::accept_with(parts, &config.subprotocols, config.require_subprotocol) {
            Ok(h) => h,
            Err(e) => {
                handshake_failed("bad_handshake");
                let mut res =
                    GoaError::new("bad_request", e.to_string()).into_response_with(e.status());
                res.headers_mut().extend(e.headers());
                return res;
            }
        };
    #[cfg(feature = "compression")]
    if let Some(c) = config.compression {
        if ws::offers_deflate(&parts.headers) {
            handshake.accept_deflate(c);
            metrics::counter!("nagare_compressed_connections_total").increment(1);
        }
    }
    let sequencer =
        crate::resume::Sequencer::from_handshake(&parts.headers, handshake.protocol.as_deref());
    let response = handshake.response(headers);
    // Boxed: the task keeps room for what it captures for its whole life, and the
    // configuration is only needed at the start.
    let cx = Box::new(ConnContext {
        config,
        shutdown: options.shutdown.clone(),
        manager: options.connections.clone(),
        endpoint,
        sequencer,
        remote: parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0),
    });
    let span = tracing::info_span!(
        "ws",
        service = endpoint.service,
        method = endpoint.method,
        conn = tracing::field::Empty
    );
    options.tasks.spawn(
        async move {
            match handshake.into_socket(cx.config.ws).await {
                Ok(socket) => serve(socket, cx, method).await,
                Err(e) => {
                    handshake_failed("hand_over");
                    tracing::debug!(error = %e, "upgrade hand-over failed");
                }
            }
        }
        .instrument(span),
    );
    response
}

fn handshake_failed(reason: &'static str) {
    metrics::counter!("nagare_handshake_failures_total", "reason" => reason).increment(1);
}

/// What a connection task needs besides its socket and method.
struct ConnContext {
    config: ConnConfig,
    shutdown: CancellationToken,
    manager: ConnectionManager,
    endpoint: EndpointName,
    /// Numbering state when the client speaks `nagare.v1`.
    sequencer: Option<Box<crate::resume::Sequencer>>,
    remote: Option<std::net::SocketAddr>,
}

async fn serve<S, F, Fut, E>(socket: ws::Socket<S>, cx: Box<ConnContext>, method: F)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    F: FnOnce(Conn) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: StreamFailure + Display,
{
    let ConnContext {
        config,
        shutdown,
        manager,
        endpoint,
        sequencer,
        remote,
    } = *cx;
    let stats = std::sync::Arc::new(crate::manager::ConnStats::default());
    let (mut conn, driver) = conn::open(socket, &config, Side::Server, stats.clone());
    conn.sequencer = sequencer;
    // Keep only what the rest of the connection's life needs.
    let close_bound = config.close_timeout + config.write_timeout;
    let cancel_grace = config.cancel_grace;
    drop(config);
    let control = conn.outbound.clone();
    let registration =
        manager.register(endpoint, remote, control.clone(), conn.gone.clone(), stats);
    tracing::Span::current().record("conn", registration.id);
    let labels = [("service", endpoint.service), ("method", endpoint.method)];
    metrics::counter!("nagare_connections_opened_total", &labels).increment(1);
    let active = metrics::gauge!("nagare_connections_active", &labels);
    active.increment(1.0);
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
                let _ = control.close(frame);
            }
        }
    };
    let reason = match (&outcome, shutting_down) {
        (_, true) => "shutdown",
        (Some(Ok(())), _) => "done",
        (Some(Err(_)), _) => "error",
        (None, _) => "peer",
    };
    metrics::counter!("nagare_connections_closed_total", "service" => endpoint.service, "method" => endpoint.method, "reason" => reason).increment(1);
    match outcome {
        Some(result) => {
            let frame = match &result {
                Ok(()) => CloseFrame::new(CloseCode::NORMAL, SERVER_CLOSING),
                Err(e) => {
                    let frame = e.close_frame();
                    let kind = crate::close::ErrorKind::of_close_code(frame.code);
                    tracing::info!(error = %e, code = frame.code, kind = kind.as_str(), "service method failed");
                    metrics::counter!("nagare_errors_total", "kind" => kind.as_str()).increment(1);
                    frame
                }
            };
            // The close frame goes behind the messages already queued, while the
            // driver keeps writing them.
            let _ = control.close(frame);
            drop(control);
            if tokio::time::timeout(close_bound, &mut driver)
                .await
                .is_err()
            {
                tracing::debug!("peer did not complete the closing handshake in time");
            }
        }
        None => match tokio::time::timeout(cancel_grace, &mut handler).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "service method ended after the connection"),
            Err(_) => tracing::debug!("service method cancelled: connection gone"),
        },
    }
    active.decrement(1.0);
    drop(registration);
}

/// The refusal of a browser origin the endpoint does not allow (`403` with Goa's
/// error body), or `None` when it may proceed. Generated handlers call it first,
/// before decoding or authenticating.
pub fn check_origin(parts: &Parts, config: &ConnConfig) -> Option<Response> {
    config.origins.check(parts).err().map(|origin| {
        tracing::info!(%origin, "refused origin");
        handshake_failed("origin");
        GoaError::new(
            "forbidden_origin",
            format!("origin {origin:?} is not allowed"),
        )
        .into_response_with(axum::http::StatusCode::FORBIDDEN)
    })
}

/// A TCP listener whose connections have `TCP_NODELAY` set, to serve with
/// `axum::serve`. Without it a small message written while the previous one is
/// unacknowledged waits (Nagle's algorithm) for that acknowledgement, which the
/// peer may delay by up to 40 ms: fine for bulk HTTP, not for a stream of small
/// WebSocket messages. Batching in the connection driver already coalesces what is
/// queued, so nothing is gained by waiting.
pub type Listener = axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)>;

/// Binds a [`Listener`] on `addr`.
pub async fn bind(addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<Listener> {
    Ok(nodelay(tokio::net::TcpListener::bind(addr).await?))
}

/// Makes an existing listener a [`Listener`].
pub fn nodelay(listener: tokio::net::TcpListener) -> Listener {
    use axum::serve::ListenerExt;
    fn set(tcp: &mut tokio::net::TcpStream) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    }
    listener.tap_io(set as fn(&mut tokio::net::TcpStream))
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM: what service binaries wait
/// for before [`ServerOptions::shutdown_gracefully`].
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The service value shared by every connection of a router.
pub type Shared<S> = Arc<S>;

/// The response for a designed error: the status the method maps it to, a
/// `Goa-Error: <name>` header and the error value's JSON (a bare JSON string for
/// string errors). An error with no mapped status gets Goa's default: 400 and the
/// six-key error body.
pub fn designed_error<T: serde::Serialize>(
    name: &str,
    value: &T,
    message: &str,
    statuses: &[(&str, u16)],
) -> Response {
    let status = statuses
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, s)| axum::http::StatusCode::from_u16(*s).ok());
    match status {
        Some(status) => {
            let mut res = crate::error::json_response(status, value);
            if let Ok(v) = axum::http::HeaderValue::from_str(name) {
                res.headers_mut().insert("goa-error", v);
            }
            res
        }
        None => axum::response::IntoResponse::into_response(GoaError::new(name, message)),
    }
}

/// The response for a failure inside the service: logged here with its text,
/// answered as a 500 fault that reveals nothing.
pub fn internal_error(error: &dyn Display) -> Response {
    tracing::error!(%error, "service method failed");
    axum::response::IntoResponse::into_response(GoaError::fault("internal error"))
}

/// A unary result: its JSON (rendered with `view`) and a newline.
pub fn result_response<T: crate::Message>(status: u16, value: &T, view: Option<&str>) -> Response {
    let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK);
    let mut body = Vec::with_capacity(128);
    if let Err(e) = value.encode(view, &mut body) {
        return internal_error(&e);
    }
    body.push(b'\n');
    let mut res = axum::response::IntoResponse::into_response((status, body));
    res.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    res
}

/// An empty success response (no result in the design).
pub fn empty_response(status: u16) -> Response {
    let status =
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::NO_CONTENT);
    axum::response::IntoResponse::into_response(status)
}

/// Largest request body a unary method reads; larger bodies get 413.
pub const MAX_BODY: usize = 1024 * 1024;

/// Reads a unary request's JSON body as an object of attributes; an empty body is
/// an empty object.
pub async fn read_body(
    body: axum::body::Body,
) -> Result<serde_json::Map<String, serde_json::Value>, Response> {
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        GoaError::new(
            "request_too_large",
            format!("request body exceeds {MAX_BODY} bytes"),
        )
        .into_response_with(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        axum::response::IntoResponse::into_response(GoaError::new(
            "decode_payload",
            format!("failed to decode request body: {e}"),
        ))
    })
}
