//! What a server accepts before a connection is upgraded: how long a client may
//! take, how big a request may be, how many connections it keeps, and how fast
//! a client may open them. Without these, a few thousand sockets that send
//! nothing (or half a request head) hold the server's file descriptors for as
//! long as their owner likes.

use std::time::Duration;

use crate::conn::rate::Rate;
use crate::server::client_addr::IpRange;
use crate::server::origin::Origin;

/// The limits [`ServerOptions::serve`](crate::ServerOptions::serve) enforces
/// (set in [`ServerOptions::limits`](crate::ServerOptions::limits)). A router
/// served some other way (`axum::serve`) gets none of them.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// A request head (request line and headers) must arrive whole within
    /// this, counted from the connection's start or the end of the previous
    /// request; a connection that misses it is closed. 5 s: a client on a bad
    /// network sends a few hundred bytes in well under that.
    pub header_read_timeout: Duration,
    /// From the accepted connection to the upgrade's answer (TLS handshake,
    /// request head, decoding, the service's auth hook): missed, the
    /// connection is closed (a TLS handshake) or answered 503 (an upgrade). 10 s.
    pub handshake_timeout: Duration,
    /// Bytes of a request head, the request line and every header: more is
    /// answered 431. 16 KiB: ample for tokens and cookies, far from the
    /// hundreds of KiB an HTTP server otherwise buffers per connection.
    pub max_header_bytes: usize,
    /// Bytes of the request target (path and query): more is answered 414.
    /// 8 KiB.
    pub max_uri_bytes: usize,
    /// Connections (plain HTTP and upgraded WebSockets) at once; a connection
    /// beyond it is answered 503 with `Retry-After` and closed. Default: the
    /// process's open-file limit less headroom for files, Redis and outgoing
    /// connections (see [`Limits::from_open_files`]).
    pub max_connections: usize,
    /// Connections at once from one client address; `None`: no limit. Off
    /// by default: behind a proxy that is not in `trusted_proxies`, every
    /// client shares the proxy's address.
    pub max_connections_per_ip: Option<usize>,
    /// Upgrades one client address may make, as a token bucket; beyond, 429
    /// with `Retry-After`. `None`: no limit.
    pub upgrade_rate_per_ip: Option<Rate>,
    /// Proxies (load balancers) whose `Forwarded` or `X-Forwarded-For` names
    /// the client: the per-address limits key on that client, and requests
    /// carry it as [`ClientAddr`](crate::server::ClientAddr). Another peer's
    /// headers are ignored. Empty by default: every peer is the client.
    pub trusted_proxies: Vec<IpRange>,
    /// The origins browsers reach the server at (`https://chat.example.com`):
    /// the pages [`OriginPolicy::SameOrigin`](crate::OriginPolicy::SameOrigin)
    /// lets upgrade. Empty by default: the loopback origins of the port the
    /// server listens on, for development; a server that browsers reach by a
    /// name must list it.
    pub public_origins: Vec<Origin>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_uri_bytes: 8 * 1024,
            max_connections: Self::from_open_files(open_file_limit()),
            max_connections_per_ip: None,
            upgrade_rate_per_ip: None,
            trusted_proxies: Vec::new(),
            public_origins: Vec::new(),
        }
    }
}

impl Limits {
    /// The connections a process allowed `open_files` descriptors can take:
    /// all but a tenth of them (at least 64) kept for log files, Redis,
    /// outgoing connections and the listener, so that the server can still
    /// accept a connection to answer it 503 rather than fail `accept`.
    pub fn from_open_files(open_files: u64) -> usize {
        let headroom = (open_files / 10).max(64);
        usize::try_from(open_files.saturating_sub(headroom))
            .unwrap_or(usize::MAX)
            .max(1)
    }
}

/// The process's soft limit on open files (1024 when it cannot be read).
fn open_file_limit() -> u64 {
    // /proc/self/limits: "Max open files   <soft>   <hard>   files".
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|soft| soft.parse().ok())
        })
        .unwrap_or(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_keep_headroom_below_the_open_file_limit() {
        assert_eq!(Limits::from_open_files(20_000), 18_000);
        assert_eq!(Limits::from_open_files(256), 192);
        assert_eq!(Limits::from_open_files(10), 1);
        assert!(open_file_limit() >= 16);
    }
}
