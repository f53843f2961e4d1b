//! The settings a server shares across its endpoints, and serving a router with
//! them until it is told to stop.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::conn::ConnConfig;
use crate::server::endpoint::UnservedEndpoint;
use crate::server::limits::Limits;
use crate::server::listener::Listener;
use crate::server::manager::ConnectionManager;
use crate::server::serving;
use crate::server::EndpointName;

/// Server-wide settings shared by every endpoint of a router.
///
/// ```no_run
/// # async fn example(app: nagare::axum::Router) -> std::io::Result<()> {
/// use std::time::Duration;
/// let mut options = nagare::server::ServerOptions::new();
/// options.conn.ping_interval = Some(Duration::from_secs(15));
/// // Settings for one endpoint, by the constant generated for it:
/// // options.set_endpoint(chat::endpoints::ECHO, config);
/// let listener = nagare::server::Listener::bind("127.0.0.1:8080").await?;
/// options.serve(listener, app, Duration::from_secs(10)).await?;
/// # Ok(()) }
/// ```
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
    /// What [`serve`](Self::serve) accepts before an upgrade: deadlines,
    /// request sizes, connection counts, upgrade rates.
    pub limits: Limits,
    /// How long [`serve`](Self::serve) stays up after SIGINT or SIGTERM
    /// with `/readyz` answering 503 (see [`health`](crate::server::health)),
    /// before it stops accepting and closes connections: time for a load
    /// balancer to stop sending new clients. 0 by default; 5 to 10 s behind
    /// a load balancer that polls readiness.
    pub drain_delay: Duration,
    /// Cancelled when the server starts draining: not ready from then on.
    draining: CancellationToken,
    /// Settings for particular endpoints, set from code; they win over the
    /// design's `ws` block and over `conn`.
    endpoints: Arc<HashMap<EndpointName, ConnConfig>>,
    /// The endpoints routers built with these options serve, shared by
    /// every clone: what `set_endpoint` may name.
    served: Arc<Mutex<HashSet<EndpointName>>>,
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

    /// Sets the connection settings of one endpoint (a constant of the service's
    /// generated `endpoints` module), overriding `conn` and the design's `ws`
    /// block for it. [`serve`](Self::serve) refuses to start if no router
    /// built with these options serves the endpoint
    /// ([`check_endpoints`](Self::check_endpoints)).
    pub fn set_endpoint(&mut self, endpoint: EndpointName, config: ConnConfig) -> &mut Self {
        Arc::make_mut(&mut self.endpoints).insert(endpoint, config);
        self
    }

    /// The name of a hand-written endpoint (one served with
    /// [`upgrade`](crate::server::upgrade)), recorded as served by this
    /// server: call it where the route is built. Generated routers record
    /// theirs.
    pub fn endpoint(&self, service: &'static str, method: &'static str) -> EndpointName {
        let name = EndpointName::new(service, method);
        self.record_served(name);
        name
    }

    /// Records that a router built with these options serves `endpoint`.
    pub(crate) fn record_served(&self, endpoint: EndpointName) {
        self.served
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(endpoint);
    }

    /// Whether every endpoint given settings by [`set_endpoint`](Self::set_endpoint)
    /// is served by a router built with these options: a name of another
    /// server's, or of a hand-written endpoint not declared with
    /// [`endpoint`](Self::endpoint), would have its settings silently ignored.
    /// [`serve`](Self::serve) checks it before it accepts a connection.
    pub fn check_endpoints(&self) -> Result<(), UnservedEndpoint> {
        let served = self.served.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(endpoint) = self.endpoints.keys().find(|e| !served.contains(e)) else {
            return Ok(());
        };
        let mut served: Vec<EndpointName> = served.iter().copied().collect();
        served.sort_by_key(|e| (e.service, e.method));
        Err(UnservedEndpoint {
            endpoint: *endpoint,
            served,
        })
    }

    /// The settings of an endpoint: the ones set from code if any, else `conn`
    /// with `design` (the design's `ws` block, applied by generated code) on top.
    pub fn endpoint_config(
        &self,
        endpoint: EndpointName,
        design: impl FnOnce(&mut ConnConfig),
    ) -> ConnConfig {
        match self.endpoints.get(&endpoint) {
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
    /// them. Call it once the HTTP listener has stopped accepting; [`serve`](Self::serve)
    /// does both.
    pub async fn shutdown_gracefully(&self, deadline: Duration) -> ShutdownReport {
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

    /// Cancels `shutdown` on SIGINT (Ctrl-C) or SIGTERM, from a task of its own
    /// that ends with the shutdown however it comes: first the server turns
    /// not-ready ([`is_draining`](Self::is_draining)), then, after
    /// [`drain_delay`](Self::drain_delay), `shutdown` is cancelled.
    pub fn shutdown_on_signal(&self) {
        let (stop, draining, delay) = (
            self.shutdown.clone(),
            self.draining.clone(),
            self.drain_delay,
        );
        tokio::spawn(async move {
            tokio::select! {
                () = shutdown_signal() => {
                    draining.cancel();
                    if !delay.is_zero() {
                        tracing::info!(?delay, "draining: not ready for new clients, then shutting down");
                        tokio::select! {
                            () = tokio::time::sleep(delay) => {}
                            () = stop.cancelled() => {}
                        }
                    }
                    tracing::info!("shutting down: closing every connection with 1001");
                    stop.cancel();
                }
                () = stop.cancelled() => {}
            }
        });
    }

    /// Whether the server is draining or shutting down: it should get no new
    /// clients (`/readyz` answers 503).
    pub fn is_draining(&self) -> bool {
        self.draining.is_cancelled() || self.shutdown.is_cancelled()
    }

    /// What a service binary does with its router: serves `app` on `listener`
    /// (TCP, or TLS when the listener has a TLS configuration) until SIGINT or
    /// SIGTERM, or until `shutdown` is cancelled; then stops accepting, closes
    /// every connection with 1001 and waits up to `deadline` for them
    /// ([`shutdown_gracefully`](Self::shutdown_gracefully)). Connections know
    /// their peer's address ([`ConnectionManager::list`]). Every connection is
    /// held to [`limits`](Self::limits): deadlines for its TLS handshake,
    /// request heads and upgrade, sizes of its requests, and the server's
    /// connection counts, each refusal answered with Goa's error body.
    pub async fn serve(
        &self,
        listener: Listener,
        app: axum::Router,
        deadline: Duration,
    ) -> std::io::Result<ShutdownReport> {
        self.check_endpoints()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        self.shutdown_on_signal();
        let limits = self.limits.clone();
        serving::serve(listener, app, limits, self.shutdown.clone(), deadline).await?;
        Ok(self.shutdown_gracefully(deadline).await)
    }
}

impl ServerOptions {
    /// Serves `ops` (what operators read: `/metrics`, say) on a listener of
    /// its own at `addr` until [`shutdown`](Self::shutdown) is cancelled, and
    /// returns `app` without it; without `addr`, returns `app` with `ops`
    /// merged in. Keep such endpoints off the public listener: metrics tell
    /// anyone who can read them which endpoints exist and how busy they are,
    /// and rendering them costs the server work an outsider can ask for at
    /// will.
    pub async fn with_operators(
        &self,
        app: axum::Router,
        ops: axum::Router,
        addr: Option<std::net::SocketAddr>,
    ) -> std::io::Result<axum::Router> {
        let Some(addr) = addr else {
            return Ok(app.merge(ops));
        };
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let stop = self.shutdown.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, ops)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the operators' listener failed");
            }
        });
        tracing::info!(operators = %bound, "operators' endpoints served apart");
        Ok(app)
    }
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
