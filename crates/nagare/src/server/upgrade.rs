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

use std::future::Future;

use axum::http::{request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::close::{CloseCode, ErrorKind, SERVER_CLOSING};
use crate::conn::{self, Conn, ConnConfig, ConnStats, Finished, Priority, Side, Together};
use crate::error::{chain, GoaError, StreamError};
use crate::resume::{error_frame, Sequencer};
use crate::server::manager::{ConnectionManager, EndpointSlot};
use crate::server::peer_log::{Cut, LogBudget};
use crate::server::serving::ConnectionPass;
use crate::server::{EndpointName, ServerOptions};
use crate::ws::{self, CloseFrame};

/// How a service error ends a stream. Generated error enums implement it; so does
/// [`StreamError`].
pub trait StreamFailure {
    /// The close frame sent to the client (code and a short reason that must not
    /// reveal internals).
    fn close_frame(&self) -> CloseFrame;

    /// A designed error's name and JSON value, sent whole in an error frame
    /// before the close to clients that speak `nagare.v1` (a close reason holds
    /// only 123 bytes); `None` for anything else.
    fn designed_value(&self) -> Option<(&str, Vec<u8>)> {
        None
    }
}

impl StreamFailure for StreamError {
    fn close_frame(&self) -> CloseFrame {
        StreamError::close_frame(self)
    }

    fn designed_value(&self) -> Option<(&str, Vec<u8>)> {
        match self {
            StreamError::Designed { name, value } => Some((name, value.as_bytes().to_vec())),
            _ => None,
        }
    }
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
    E: StreamFailure + std::error::Error + Send + 'static,
{
    let config = options.endpoint_config(endpoint, |_| {});
    if let Some(refusal) = check_origin(parts, &config) {
        return refusal;
    }
    accept(parts, options, config, endpoint, headers, method)
}

/// [`upgrade`] for generated handlers: the endpoint's settings already resolved
/// (with the design's `ws` block), the origin already checked with
/// [`check_origin`] (they check it first, before decoding or authenticating), and
/// the result view chosen before the upgrade, sent back in `Goa-View`.
pub fn upgrade_with<F, Fut, E>(
    parts: &mut Parts,
    options: &ServerOptions,
    config: ConnConfig,
    endpoint: EndpointName,
    view: Option<&'static str>,
    method: F,
) -> Response
where
    F: FnOnce(Conn) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: StreamFailure + std::error::Error + Send + 'static,
{
    let mut headers = HeaderMap::new();
    if let Some(view) = view {
        headers.insert("goa-view", HeaderValue::from_static(view));
    }
    accept(parts, options, config, endpoint, headers, method)
}

/// Checks the handshake, answers 101 with `headers` and spawns the connection
/// task; a refusal is an HTTP error with Goa's body.
fn accept<F, Fut, E>(
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
    E: StreamFailure + std::error::Error + Send + 'static,
{
    if options.shutdown.is_cancelled() {
        handshake_failed("shutting_down");
        return GoaError {
            temporary: true,
            ..GoaError::new("unavailable", "the server is shutting down")
        }
        .into_response_with(StatusCode::SERVICE_UNAVAILABLE);
    }
    let slot = match config.max_connections {
        Some(max) => match options.connections.reserve(endpoint, max) {
            Some(slot) => Some(slot),
            None => {
                handshake_failed("endpoint_full");
                let mut res = GoaError {
                    temporary: true,
                    ..GoaError::new(
                        "unavailable",
                        "this endpoint has as many connections as it takes",
                    )
                }
                .into_response_with(StatusCode::SERVICE_UNAVAILABLE);
                res.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    HeaderValue::from_static("1"),
                );
                return res;
            }
        },
        None => None,
    };
    let handshake = match ws::accept_with(parts, &config.subprotocols, config.require_subprotocol) {
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
    let handshake = {
        let mut handshake = handshake;
        if let Some(c) = config.compression {
            if ws::offers_deflate(&parts.headers) {
                handshake.accept_deflate(c);
                metrics::counter!("nagare_compressed_connections_total").increment(1);
            }
        }
        handshake
    };
    let sequencer = Sequencer::from_handshake(&parts.headers, handshake.protocol.as_deref());
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
        expires: parts
            .extensions
            .get::<crate::security::CredentialsExpiry>()
            .map(|e| e.0),
        _counted: parts.extensions.remove::<ConnectionPass>(),
        _slot: slot,
    });
    let span = tracing::info_span!(
        "ws",
        service = endpoint.service,
        method = endpoint.method,
        conn = tracing::field::Empty
    );
    options.tasks.spawn(
        async move {
            // The hand-over's future is boxed and the socket moved out of its
            // result before the connection's life begins: the task is as
            // large as its largest state, held as long as the connection.
            let socket = match Box::pin(handshake.into_socket(cx.config.ws)).await {
                Ok(socket) => socket,
                Err(e) => {
                    handshake_failed("hand_over");
                    tracing::debug!(error = %e, "upgrade hand-over failed");
                    return;
                }
            };
            serve(socket, cx, method).await
        }
        .instrument(span),
    );
    response
}

/// Waits for `timer`, if there is one.
async fn until(timer: &mut Option<std::pin::Pin<Box<tokio::time::Sleep>>>) {
    match timer {
        Some(t) => t.as_mut().await,
        None => std::future::pending().await,
    }
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
    sequencer: Option<Box<Sequencer>>,
    remote: Option<std::net::SocketAddr>,
    /// When the credentials the stream was opened with expire.
    expires: Option<std::time::SystemTime>,
    /// Keeps the connection counted against the server's limits until the
    /// WebSocket ends.
    _counted: Option<ConnectionPass>,
    /// Keeps it counted against its endpoint's.
    _slot: Option<EndpointSlot>,
}

/// Runs a connection to its end. The set-up is done before the returned
/// future exists, so that the future, which every open connection's task
/// holds, keeps only what the connection's life needs: an `async fn` would
/// also keep its arguments (the socket, the configuration) beside the driver
/// they were moved into.
fn serve<S, F, Fut, E>(
    socket: ws::Socket<S>,
    cx: Box<ConnContext>,
    method: F,
) -> impl Future<Output = ()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    F: FnOnce(Conn) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: StreamFailure + std::error::Error + 'static,
{
    let ConnContext {
        config,
        shutdown,
        manager,
        endpoint,
        sequencer,
        remote,
        expires,
        _counted: counted,
        _slot: slot,
    } = *cx;
    // Boxed: most streams have no expiry, and a timer inline would size
    // every connection's task.
    let mut expiry = expires.map(|at| {
        let left = at
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        Box::pin(tokio::time::sleep(left))
    });
    // Designed errors go whole, in a frame of their own, to nagare.v1 clients.
    let numbered = sequencer.is_some();
    let stats = std::sync::Arc::new(ConnStats::default());
    let (mut conn, driver) = conn::open(socket, &config, Side::Server, stats.clone());
    conn.sequencer = sequencer;
    // Keep only what the rest of the connection's life needs.
    let close_bound = config.close_timeout + config.write_timeout;
    let cancel_grace = config.cancel_grace;
    drop(config);
    let control = conn.outbound.clone();
    let registration = manager.register(endpoint, remote, control.clone(), stats);
    tracing::Span::current().record("conn", registration.id);
    let labels = [("service", endpoint.service), ("method", endpoint.method)];
    metrics::counter!("nagare_connections_opened_total", &labels).increment(1);
    let active = metrics::gauge!("nagare_connections_active", &labels);
    active.increment(1.0);
    // Pinned on the heap, not in the task: pinning inside the block would move
    // them out of its captures and keep each twice.
    let mut driver = Box::pin(driver);
    let mut handler = Box::pin(method(conn));
    async move {
        let mut shutting_down = false;
        let mut expired = false;
        let outcome = {
            let mut both = Together::new(driver.as_mut(), handler.as_mut());
            loop {
                tokio::select! {
                    finished = &mut both => break match finished {
                        Finished::Method(r) => Some(r),
                        Finished::Driver => None,
                    },
                    () = shutdown.cancelled(), if !shutting_down => {
                        shutting_down = true;
                        let frame = CloseFrame::new(CloseCode::GOING_AWAY, "server shutting down");
                        let _ = control.close(frame);
                    }
                    () = until(&mut expiry), if !expired && expiry.is_some() => {
                        expired = true;
                        tracing::debug!("credentials expired: closing");
                        let frame = CloseFrame::new(CloseCode::CREDENTIALS_EXPIRED, "credentials expired");
                        let _ = control.close(frame);
                    }
                }
            }
        };
        let reason = match (&outcome, shutting_down) {
            (_, true) => "shutdown",
            _ if expired => "expired",
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
                        let kind = ErrorKind::of_close_code(frame.code);
                        // The chain may quote what the peer sent: cut.
                        let error = chain(e);
                        tracing::info!(error = %Cut(&error), code = frame.code, kind = kind.as_str(), "service method failed");
                        metrics::counter!("nagare_errors_total", "kind" => kind.as_str())
                            .increment(1);
                        let whole = e.designed_value().filter(|_| numbered);
                        if let Some(Ok(error)) = whole.map(|(name, json)| error_frame(name, &json))
                        {
                            let _ = control.push(error, Priority::Normal);
                        }
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
                Ok(Err(e)) => {
                    tracing::debug!(error = %chain(&e), "service method ended after the connection")
                }
                Err(_) => tracing::debug!("service method cancelled: connection gone"),
            },
        }
        active.decrement(1.0);
        drop(registration);
        drop((counted, slot));
    }
}

/// The refusal of a browser origin the endpoint does not allow (`403` with Goa's
/// error body), or `None` when it may proceed. Generated handlers call it first,
/// before decoding or authenticating.
///
/// A peer can send refused origins at will: they are logged at most
/// ten times a minute, each cut to a bounded length, the others
/// counted in `nagare_handshake_failures_total{reason="origin"}` (and the
/// next line says how many were not logged).
pub fn check_origin(parts: &Parts, config: &ConnConfig) -> Option<Response> {
    config.origins.check(parts).err().map(|origin| {
        if let Some(skipped) = ORIGIN_LOG.allow() {
            match config.origins {
                crate::OriginPolicy::SameOrigin => tracing::info!(
                    origin = %Cut(&origin),
                    not_logged = skipped,
                    "refused origin: not one of the server's (list them in Limits::public_origins, --public-origin)"
                ),
                _ => tracing::info!(origin = %Cut(&origin), not_logged = skipped, "refused origin"),
            }
        }
        handshake_failed("origin");
        GoaError::new(
            "forbidden_origin",
            format!("origin \"{}\" is not allowed", Cut(&origin)),
        )
        .into_response_with(StatusCode::FORBIDDEN)
    })
}

/// Refused origins logged per minute at most.
static ORIGIN_LOG: LogBudget = LogBudget::new(10, std::time::Duration::from_secs(60));
