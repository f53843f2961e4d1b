//! Where a server accepts connections: TCP, or TLS over TCP (feature `tls`).
//!
//! Every accepted connection gets `TCP_NODELAY`. Without it a small message
//! written while the previous one is unacknowledged waits (Nagle's algorithm) for
//! that acknowledgement, which the peer may delay by up to 40 ms: fine for bulk
//! HTTP, not for a stream of small WebSocket messages. Batching in the connection
//! driver already coalesces what is queued, so nothing is gained by waiting.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};

/// A bound listening socket for [`ServerOptions::serve`](crate::server::ServerOptions::serve):
/// plain TCP, or TLS with [`with_tls`](Self::with_tls).
///
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// let listener = nagare::server::Listener::bind("127.0.0.1:8080").await?;
/// println!("listening on {}", listener.local_addr()?);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Listener {
    pub(crate) tcp: TcpListener,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<std::sync::Arc<rustls::ServerConfig>>,
}

impl Listener {
    /// Binds `addr` for plain TCP.
    pub async fn bind(addr: impl ToSocketAddrs) -> std::io::Result<Self> {
        Ok(Self::new(TcpListener::bind(addr).await?))
    }

    /// Serves on a socket bound elsewhere (plain TCP).
    pub fn new(tcp: TcpListener) -> Self {
        Listener {
            tcp,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Serves `https://` and `wss://` with this configuration (see
    /// [`crate::tls::server_config`]).
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, config: std::sync::Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// The address the socket is bound to (to learn the port of `:0`).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

impl From<TcpListener> for Listener {
    fn from(tcp: TcpListener) -> Self {
        Self::new(tcp)
    }
}

/// A TCP listener whose connections have `TCP_NODELAY` set, for serving a
/// router with `axum::serve` directly.
pub type NoDelay = axum::serve::TapIo<TcpListener, fn(&mut TcpStream)>;

/// Makes a TCP listener set `TCP_NODELAY` on every connection it accepts, for
/// `axum::serve(nagare::server::nodelay(listener), app)`.
pub fn nodelay(listener: TcpListener) -> NoDelay {
    use axum::serve::ListenerExt;
    fn set(tcp: &mut TcpStream) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    }
    listener.tap_io(set as fn(&mut TcpStream))
}
