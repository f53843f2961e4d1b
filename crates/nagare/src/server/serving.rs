//! The accept loop of [`ServerOptions::serve`](crate::ServerOptions::serve):
//! each connection is counted against the [`Limits`], given deadlines for its
//! TLS handshake, its request heads and its upgrade, and served over HTTP/1.1
//! by hyper; refused connections and bad requests get an answer with Goa's
//! error body instead of a hang or a 500.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::error::GoaError;
use crate::server::client_addr::{client_of, is_trusted, ClientAddr};
use crate::server::gate::{Gate, Pass, Refusal};
use crate::server::limits::Limits;
use crate::server::listener::Listener;
use crate::server::origin::{Origin, ServerOrigins};

/// Serves `app` on `listener` until `shutdown`; then stops accepting, lets each
/// HTTP connection finish its request (upgraded connections are the
/// connection manager's) and returns once they have, or after `deadline`.
pub(crate) async fn serve(
    listener: Listener,
    app: axum::Router,
    limits: Limits,
    shutdown: CancellationToken,
    deadline: Duration,
) -> std::io::Result<()> {
    #[cfg(feature = "tls")]
    let encrypted = listener.tls.is_some();
    #[cfg(not(feature = "tls"))]
    let encrypted = false;
    let origins = server_origins(&limits, &listener, encrypted);
    // The one line a newcomer looks for: where the server can be reached.
    if let Ok(address) = listener.local_addr() {
        let scheme = if encrypted { "https" } else { "http" };
        tracing::info!("listening on {scheme}://{address}");
    }
    let gate = Gate::new(limits);
    #[cfg(feature = "tls")]
    let tls = listener.tls.map(tokio_rustls::TlsAcceptor::from);
    let connections = TaskTracker::new();
    let mut backoff = FIRST_BACKOFF;
    loop {
        let accepted = tokio::select! {
            accepted = listener.tcp.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => {
                backoff = FIRST_BACKOFF;
                a
            }
            Err(e) => {
                // Out of descriptors, or memory: waiting frees some (closing
                // connections) without spinning on an accept that fails.
                metrics::counter!("nagare_accept_errors_total").increment(1);
                if !is_per_connection(&e) {
                    tracing::warn!(error = %e, ?backoff, "accept failed: backing off");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = shutdown.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                continue;
            }
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let admitted = gate.admit(peer.ip());
        let connection = Connection {
            app: app.clone(),
            origins: origins.clone(),
            gate: gate.clone(),
            peer,
            accepted: Instant::now(),
            shutdown: shutdown.clone(),
        };
        #[cfg(feature = "tls")]
        if let Some(tls) = &tls {
            connections.spawn(connection.serve_tls(tcp, tls.clone(), admitted));
            continue;
        }
        connections.spawn(connection.serve(tcp, admitted));
    }
    connections.close();
    if tokio::time::timeout(deadline, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            remaining = connections.len(),
            "HTTP connections still open at the shutdown deadline"
        );
    }
    Ok(())
}

const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Whether an accept error concerns only the connection being accepted (the
/// peer gave up): the next accept may well succeed at once.
fn is_per_connection(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::Interrupted
    )
}

/// The origins the server answers as: the configured public ones, or the
/// loopback origins of the port it listens on.
fn server_origins(limits: &Limits, listener: &Listener, tls: bool) -> ServerOrigins {
    if !limits.public_origins.is_empty() {
        return ServerOrigins(limits.public_origins.clone().into());
    }
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    ServerOrigins(Origin::loopback(port, tls).into())
}

/// One accepted connection.
struct Connection {
    app: axum::Router,
    origins: ServerOrigins,
    gate: Arc<Gate>,
    peer: SocketAddr,
    accepted: Instant,
    shutdown: CancellationToken,
}

impl Connection {
    #[cfg(feature = "tls")]
    async fn serve_tls(
        self,
        tcp: tokio::net::TcpStream,
        tls: tokio_rustls::TlsAcceptor,
        admitted: Result<Pass, Refusal>,
    ) {
        let timeout = self.gate.limits().handshake_timeout;
        match tokio::time::timeout(timeout, tls.accept(tcp)).await {
            Ok(Ok(stream)) => self.serve(stream, admitted).await,
            Ok(Err(e)) => tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed"),
            Err(_) => {
                metrics::counter!("nagare_handshake_timeouts_total", "stage" => "tls").increment(1);
                tracing::debug!(peer = %self.peer, "TLS handshake timed out");
            }
        }
    }

    async fn serve<I>(self, io: I, admitted: Result<Pass, Refusal>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let limits = self.gate.limits().clone();
        let (pass, refusal) = match admitted {
            Ok(pass) => (Some(Arc::new(pass)), None),
            Err(refusal) => {
                metrics::counter!("nagare_connections_refused_total", "reason" => refusal.label())
                    .increment(1);
                (None, Some(refusal))
            }
        };
        let service = Guarded {
            app: self.app,
            origins: self.origins,
            peer: self.peer,
            proxied: is_trusted(self.peer.ip(), &limits.trusted_proxies),
            pass,
            refusal,
            upgrade_deadline: self.accepted + limits.handshake_timeout,
            gate: self.gate,
        };
        // A refused connection is only kept to say so: briefly.
        let head_deadline = match refusal {
            Some(_) => limits.header_read_timeout.min(Duration::from_secs(1)),
            None => limits.header_read_timeout,
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(head_deadline)
            // Heads between our limit and twice it are answered 431 with
            // Goa's body (`Guarded`); beyond, hyper answers 431 itself.
            .max_buf_size((limits.max_header_bytes * 2).max(8192));
        if refusal.is_some() {
            http.keep_alive(false);
        }
        let conn = http
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        tokio::pin!(conn);
        let outcome = tokio::select! {
            outcome = conn.as_mut() => outcome,
            () = self.shutdown.cancelled() => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = outcome {
            if e.is_timeout() {
                metrics::counter!("nagare_handshake_timeouts_total", "stage" => "head")
                    .increment(1);
                tracing::debug!(peer = %self.peer, "request head not received in time: closed");
            } else {
                tracing::debug!(peer = %self.peer, error = %e, "HTTP connection ended with an error");
            }
        }
    }
}

/// The router behind the request checks of one connection.
#[derive(Clone)]
struct Guarded {
    app: axum::Router,
    /// The server's own origins, for the same-origin check.
    origins: ServerOrigins,
    gate: Arc<Gate>,
    peer: SocketAddr,
    /// The peer is a trusted proxy: each request is counted by its client.
    proxied: bool,
    /// Counts the connection until the last clone (an upgraded WebSocket
    /// task may hold one) is gone.
    pass: Option<Arc<Pass>>,
    refusal: Option<Refusal>,
    upgrade_deadline: Instant,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for Guarded {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: Request<Incoming>) -> Answer {
        let limits = self.gate.limits();
        if let Some(refusal) = self.refusal {
            return ready(refused(refusal));
        }
        let target = request
            .uri()
            .path_and_query()
            .map_or(0, |p| p.as_str().len());
        if target > limits.max_uri_bytes {
            return ready(bad_request(
                StatusCode::URI_TOO_LONG,
                "uri_too_long",
                format!(
                    "the request target is {target} bytes; at most {} are accepted",
                    limits.max_uri_bytes
                ),
            ));
        }
        let head = head_bytes(&request);
        if head > limits.max_header_bytes {
            return ready(bad_request(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                format!(
                    "the request head is {head} bytes; at most {} are accepted",
                    limits.max_header_bytes
                ),
            ));
        }
        let client = client_of(self.peer.ip(), request.headers(), &limits.trusted_proxies);
        let upgrade = request.headers().contains_key(header::UPGRADE);
        if upgrade {
            if let Err(refusal) = self.gate.upgrade(client) {
                return ready(refused(refusal));
            }
        }
        let client_pass = match self.proxied && limits.max_connections_per_ip.is_some() {
            true => match self.gate.admit_client(client) {
                Ok(pass) => Some(Arc::new(pass)),
                Err(refusal) => {
                    metrics::counter!("nagare_connections_refused_total", "reason" => refusal.label())
                        .increment(1);
                    return ready(refused(refusal));
                }
            },
            false => None,
        };
        let mut request = request.map(Body::new);
        let extensions = request.extensions_mut();
        extensions.insert(axum::extract::ConnectInfo(self.peer));
        extensions.insert(ClientAddr(client));
        extensions.insert(self.origins.clone());
        if self.pass.is_some() || client_pass.is_some() {
            extensions.insert(ConnectionPass {
                _connection: self.pass.clone(),
                _client: client_pass,
            });
        }
        let app = self.app.clone();
        let deadline = self.upgrade_deadline;
        Box::pin(async move {
            let answered = app.oneshot(request);
            if !upgrade {
                return answered.await;
            }
            // Decoding, the auth hook and the upgrade itself must be done by
            // the handshake deadline, counted from the connection's accept.
            match tokio::time::timeout_at(deadline.into(), answered).await {
                Ok(answer) => answer,
                Err(_) => {
                    metrics::counter!("nagare_handshake_timeouts_total", "stage" => "upgrade")
                        .increment(1);
                    Ok(unavailable(
                        "the upgrade took too long: try again",
                        Duration::from_secs(1),
                    ))
                }
            }
        })
    }
}

/// The connection's count (and, behind a trusted proxy, the client's),
/// carried by its requests, so that an upgraded WebSocket keeps them counted
/// until it ends.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionPass {
    _connection: Option<Arc<Pass>>,
    _client: Option<Arc<Pass>>,
}

fn ready(response: Response<Body>) -> Answer {
    Box::pin(std::future::ready(Ok(response)))
}

/// The request line and headers as they came, roughly: what a head costs.
fn head_bytes<B>(request: &Request<B>) -> usize {
    let line = request.method().as_str().len()
        + request.uri().to_string().len()
        + "HTTP/1.1\r\n".len()
        + 2;
    request
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + line
}

fn bad_request(status: StatusCode, name: &str, message: String) -> Response<Body> {
    tracing::debug!(%status, %message, "request refused");
    let mut res = GoaError::new(name, message).into_response_with(status);
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

fn refused(refusal: Refusal) -> Response<Body> {
    match refusal {
        Refusal::Full => unavailable(
            "the server has as many connections as it takes",
            Duration::from_secs(1),
        ),
        Refusal::FullForAddress => unavailable(
            "this address has as many connections as the server takes from one",
            Duration::from_secs(1),
        ),
        Refusal::TooFast(wait) => {
            let mut res = GoaError {
                temporary: true,
                ..GoaError::new(
                    "too_many_requests",
                    "too many upgrades from this address: slow down",
                )
            }
            .into_response_with(StatusCode::TOO_MANY_REQUESTS);
            retry_after(&mut res, wait);
            res
        }
    }
}

/// 503 with Goa's temporary error and `Retry-After`.
fn unavailable(message: &str, wait: Duration) -> Response<Body> {
    let mut res = GoaError {
        temporary: true,
        ..GoaError::new("unavailable", message)
    }
    .into_response();
    retry_after(&mut res, wait);
    res
}

fn retry_after(res: &mut Response<Body>, wait: Duration) {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
}
