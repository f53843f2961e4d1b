//! The settings of each connection of an endpoint, on either side.

use std::time::Duration;

use crate::conn::outbound::SlowConsumer;
use crate::ws::WsConfig;

/// Settings of each connection of an endpoint.
#[derive(Clone, Debug)]
pub struct ConnConfig {
    /// Frame and buffer limits of the WebSocket itself.
    pub ws: WsConfig,
    /// Messages received but not yet taken by the service. When full, the driver
    /// stops reading and TCP pushes back on the peer. Queue slots are allocated
    /// per queued message and freed when it is taken, so an idle connection pays
    /// nothing for its queues whatever their bounds.
    pub inbound_queue: usize,
    /// Messages sent but not yet written. When full, `slow_consumer` decides.
    pub outbound_queue: usize,
    /// Bytes of messages sent but not yet written: the queue is also full at
    /// this many, so a peer that does not read holds at most this much of
    /// large messages (plus the one that crossed it), not `outbound_queue`
    /// times the largest message.
    pub outbound_bytes: usize,
    /// What a send does when the outbound queue is full: wait (backpressure),
    /// drop the oldest message, or disconnect the peer.
    pub slow_consumer: SlowConsumer,
    /// How long to wait for the peer's close frame after sending ours.
    pub close_timeout: Duration,
    /// How long a service method may keep running after its connection is gone,
    /// to finish what it was doing with messages already received, before it is
    /// cancelled (dropped at its next `.await`).
    pub cancel_grace: Duration,
    /// Send a ping after this long without hearing from the peer; `None` turns
    /// heartbeats off. Each ping is a few bytes; a shorter interval finds dead
    /// peers sooner and keeps NAT mappings and proxies from timing out.
    pub ping_interval: Option<Duration>,
    /// A peer that sends nothing (not even a pong) this long after a ping is dead:
    /// the connection is closed (1001) and cleaned up. A dead peer is found at most
    /// `ping_interval + pong_timeout` after it last spoke.
    pub pong_timeout: Duration,
    /// Close (1001 `idle timeout`) after this long without a data message in either
    /// direction; `None` keeps idle connections open.
    pub idle_timeout: Option<Duration>,
    /// Browser origins allowed to open a connection; refused ones get 403 before
    /// the upgrade.
    pub origins: OriginPolicy,
    /// Subprotocols the endpoint speaks, in preference order; the first one the
    /// client offers is selected. Goa's clients offer none.
    pub subprotocols: Vec<String>,
    /// Refuse (400) clients that offer none of `subprotocols`.
    pub require_subprotocol: bool,
    /// permessage-deflate for clients that offer it (feature `compression`);
    /// `None` never compresses.
    #[cfg(feature = "compression")]
    pub compression: Option<crate::ws::Compression>,
    /// Roots a client trusts for `wss://` and `https://` (feature `tls`); `None`
    /// trusts the system's roots.
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// Longest wait for a batch of writes to reach the socket. A peer that does not
    /// read past this is disconnected, so it cannot pin memory or a task.
    pub write_timeout: Duration,
    /// Longest a client waits to open a connection: TCP connect, TLS and the
    /// upgrade together. A server that does not answer in time is unreachable (a
    /// temporary error, so a retry policy tries again).
    pub connect_timeout: Duration,
    /// Data messages the peer may send, as a token bucket; a peer that sends
    /// faster once its burst is spent is closed with 1008 and a reason naming
    /// the rate. `None` (the default): no limit beyond the inbound queue's
    /// back-pressure.
    pub message_rate: Option<crate::conn::rate::Rate>,
    /// Data messages the peer may send over the connection's life; one more
    /// closes it with 1008 naming the limit. `None` (the default): no limit.
    /// Bounds what a client stream can make a method accumulate.
    pub max_received_messages: Option<u64>,
    /// Bytes of data messages the peer may send over the connection's life;
    /// past them, 1008. `None` (the default): no limit.
    pub max_received_bytes: Option<u64>,
    /// Connections the endpoint takes at once (a server setting, used at the
    /// upgrade); beyond, 503 with `Retry-After`. `None`: only the server's
    /// [`Limits`](crate::server::Limits) apply.
    pub max_connections: Option<usize>,
}

impl ConnConfig {
    /// Makes the endpoint speak `nagare.v1` (first in its preference order) for
    /// clients that offer it, so its server streams can be resumed (see
    /// [`crate::resume`]). Generated servers call it for methods the design
    /// marks `resumable`; a hand-written endpoint calls it itself.
    pub fn enable_resume(&mut self) {
        if !self
            .subprotocols
            .iter()
            .any(|p| p == crate::resume::PROTOCOL)
        {
            self.subprotocols
                .insert(0, crate::resume::PROTOCOL.to_owned());
        }
    }

    /// The roots a `wss://` client trusts, in the WebSocket adapter's terms.
    #[cfg(feature = "client")]
    pub(crate) fn tls_roots(&self) -> crate::ws::TlsRoots {
        crate::ws::TlsRoots {
            #[cfg(feature = "tls")]
            roots: self.tls.clone(),
        }
    }

    /// Accepts permessage-deflate from clients that offer it, at zlib `level`
    /// (0-9), sending messages under `threshold` bytes uncompressed. Generated code
    /// calls it for a design's `ws` compression setting; without nagare's
    /// `compression` feature it only logs, once, that compression stays off.
    pub fn enable_compression(&mut self, level: u32, threshold: usize) {
        #[cfg(feature = "compression")]
        {
            self.compression = Some(crate::ws::Compression { level, threshold });
        }
        #[cfg(not(feature = "compression"))]
        {
            static WARNED: std::sync::atomic::AtomicBool =
                std::sync::atomic::AtomicBool::new(false);
            if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tracing::warn!(
                    level,
                    threshold,
                    "compression requested, but nagare's `compression` feature is off"
                );
            }
        }
    }
}

impl Default for ConnConfig {
    fn default() -> Self {
        ConnConfig {
            ws: WsConfig::default(),
            inbound_queue: 16,
            outbound_queue: 64,
            outbound_bytes: 1024 * 1024,
            slow_consumer: SlowConsumer::Wait,
            close_timeout: Duration::from_secs(2),
            cancel_grace: Duration::from_secs(5),
            ping_interval: Some(Duration::from_secs(30)),
            pong_timeout: Duration::from_secs(10),
            idle_timeout: None,
            write_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            message_rate: None,
            max_received_messages: None,
            max_received_bytes: None,
            max_connections: None,
            origins: OriginPolicy::default(),
            subprotocols: Vec::new(),
            require_subprotocol: false,
            #[cfg(feature = "compression")]
            compression: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// The origins allowed to upgrade.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum OriginPolicy {
    /// Only the server's own pages: the origins in
    /// [`Limits::public_origins`](crate::server::Limits::public_origins) (the
    /// scheme, host and port browsers reach the server at), or, when it has
    /// none, the loopback origins of the port the server listens on
    /// (`http://localhost:8080`, `http://127.0.0.1:8080`, `http://[::1]:8080`,
    /// `https://` with TLS): what development needs, and nothing a DNS
    /// rebinding can pose as.
    #[default]
    SameOrigin,
    /// Any origin: for public APIs that authenticate every request another way.
    Any,
    /// These origins: exact (`https://app.example.com`) or a wildcard subdomain
    /// (`https://*.example.com`, which does not match `https://example.com`).
    Allow(Vec<String>),
}
