//! Command-line flags for the connection settings a service binary exposes
//! (feature `cli`): limits, heartbeats, compression, origins, with `--help`
//! text that says what each does.
//!
//! ```no_run
//! use clap::Parser;
//!
//! /// My service.
//! #[derive(Parser)]
//! struct Args {
//!     #[command(flatten)]
//!     conn: nagare::flags::ConnFlags,
//! }
//!
//! let args = Args::parse();
//! let mut options = nagare::ServerOptions::new();
//! args.conn.apply(&mut options.conn);
//! ```
//!
//! The flags set the server-wide settings ([`ServerOptions::conn`](crate::ServerOptions::conn));
//! an endpoint whose design sets one of them in its `ws` block keeps the
//! design's value.

use std::time::Duration;

use crate::conn::ConnConfig;
use crate::conn::OriginPolicy;

/// Where a service binary keeps its rooms: in memory, or in the Redis that
/// `--redis` names (feature `redis`).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct BrokerFlags {
    /// Keep rooms (their messages, history and presence) in this Redis, shared
    /// with every server process that uses it, e.g. `redis://127.0.0.1:6379/`.
    /// Without it, rooms live in this process's memory and restart with it.
    #[cfg(feature = "redis")]
    #[arg(
        long = "redis",
        value_name = "URL",
        env = "NAGARE_REDIS_URL",
        hide_env_values = true
    )]
    pub redis: Option<String>,
    /// How long a publish may wait for Redis (down, or slow) before it fails
    /// with "try again later" (a stream closes 1013) [default: 10s].
    #[cfg(feature = "redis")]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub publish_timeout: Option<Duration>,
    /// How long a room keeps its history after its last message [default: 24h].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub history_ttl: Option<Duration>,
    /// Bytes of messages a room's history keeps at most; past them the oldest
    /// are forgotten [default: the design's, else 16777216].
    #[arg(long, value_name = "BYTES")]
    pub history_bytes: Option<usize>,
    /// History reads at once per room family in this process; one more is
    /// answered 1013, try again later [default: 16].
    #[arg(long, value_name = "N")]
    pub history_reads: Option<usize>,
    /// How long a present member stays listed when its server stops refreshing
    /// it (a server that died without saying so) [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub presence_ttl: Option<Duration>,
}

impl BrokerFlags {
    /// The broker the flags name: connects to Redis (failing if it cannot be
    /// reached now), or makes an in-memory one.
    pub async fn connect(&self) -> Result<crate::SharedBroker, crate::broker::BrokerError> {
        #[cfg(feature = "redis")]
        if let Some(url) = &self.redis {
            let mut config = crate::broker::RedisConfig::new(url.clone());
            if let Some(t) = self.publish_timeout {
                config.publish_timeout = t;
            }
            return Ok(crate::broker::RedisBroker::connect(config).await?.shared());
        }
        Ok(crate::MemoryBroker::new().shared())
    }

    /// Applies the history and TTL flags given to a room's settings.
    pub fn configure(&self, config: &mut crate::broker::RoomConfig) {
        if let Some(ttl) = self.history_ttl {
            config.history_ttl = ttl;
        }
        if let Some(bytes) = self.history_bytes {
            config.history_bytes = bytes.max(1);
        }
        if let Some(n) = self.history_reads {
            config.history_reads = n;
        }
        if let Some(ttl) = self.presence_ttl {
            config.presence_ttl = ttl;
        }
    }
}

/// What a service binary offers its operators: where `/metrics` is served,
/// and how it drains.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct OpsFlags {
    /// Serve `/metrics` on this address instead of the public one (e.g.
    /// `127.0.0.1:9090`, reached by Prometheus only): the public listener then
    /// does not answer it.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// On SIGTERM, answer /readyz 503 for this long before closing
    /// connections, so a load balancer stops sending new clients first
    /// [default: 0s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub drain_delay: Option<Duration>,
}

impl OpsFlags {
    /// Applies the flags that were given to `options`.
    pub fn apply(&self, options: &mut crate::ServerOptions) {
        if let Some(d) = self.drain_delay {
            options.drain_delay = d;
        }
    }
}

/// The connection flags of a service binary.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ConnFlags {
    /// Compress messages with permessage-deflate for clients that offer it, at this
    /// zlib level (0-9; 1 when given without a value). Off by default.
    #[arg(long, value_name = "LEVEL", num_args = 0..=1, default_missing_value = "1",
          value_parser = clap::value_parser!(u32).range(0..=9))]
    pub compression: Option<u32>,
    /// Largest message accepted, in bytes; a larger one closes the connection
    /// with 1009 [default: 1048576].
    #[arg(long, value_name = "BYTES")]
    pub max_message_bytes: Option<usize>,
    /// Ping a peer not heard from for this long (`250ms`, `30s`, `2m`; `off`
    /// turns heartbeats off) [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = parse_optional_duration)]
    pub ping_interval: Option<OptionalDuration>,
    /// Close a peer that sends nothing this long after a ping [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub pong_timeout: Option<Duration>,
    /// Close connections without a data message either way for this long
    /// (`off` keeps them) [default: off].
    #[arg(long, value_name = "DURATION", value_parser = parse_optional_duration)]
    pub idle_timeout: Option<OptionalDuration>,
    /// Messages queued for a peer before its send queue counts as full
    /// [default: 64].
    #[arg(long, value_name = "MESSAGES")]
    pub outbound_queue: Option<usize>,
    /// Bytes of messages queued for a peer before its send queue counts as
    /// full [default: 1048576].
    #[arg(long, value_name = "BYTES")]
    pub outbound_bytes: Option<usize>,
    /// Browser origins allowed to connect (exact, `https://*.example.com`, or
    /// `*` for any); repeat for several. Default: the server's own origins
    /// only (see --public-origin).
    #[arg(long = "origin", value_name = "ORIGIN")]
    pub origins: Vec<String>,
    /// Messages per second a peer may send (bursts of as many); one that sends
    /// faster is closed with 1008 [default: no limit].
    #[arg(long, value_name = "PER_SECOND")]
    pub message_rate: Option<u32>,
}

/// Messages shorter than this go uncompressed with `--compression`: deflating
/// them costs more than it saves.
const UNCOMPRESSED_BELOW: usize = 256;

/// A duration, or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionalDuration(pub Option<Duration>);

impl ConnFlags {
    /// Applies the flags that were given to `config`.
    pub fn apply(&self, config: &mut ConnConfig) {
        if let Some(level) = self.compression {
            config.enable_compression(level, UNCOMPRESSED_BELOW);
        }
        if let Some(bytes) = self.max_message_bytes {
            config.ws.max_message_size = bytes;
            config.ws.max_frame_size = bytes;
        }
        if let Some(OptionalDuration(d)) = self.ping_interval {
            config.ping_interval = d;
        }
        if let Some(d) = self.pong_timeout {
            config.pong_timeout = d;
        }
        if let Some(OptionalDuration(d)) = self.idle_timeout {
            config.idle_timeout = d;
        }
        if let Some(n) = self.outbound_queue {
            config.outbound_queue = n;
        }
        if let Some(n) = self.outbound_bytes {
            config.outbound_bytes = n;
        }
        if let Some(n) = self.message_rate {
            config.message_rate = Some(crate::Rate::per_second(n));
        }
        if self.origins.iter().any(|o| o == "*") {
            config.origins = OriginPolicy::Any;
        } else if !self.origins.is_empty() {
            config.origins = OriginPolicy::Allow(self.origins.clone());
        }
    }
}

/// The limits a service binary enforces before an upgrade (see
/// [`Limits`](crate::server::Limits) for what each protects against).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct LimitFlags {
    /// Close a connection whose request head has not arrived this long after
    /// it opened or after its previous request [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub header_timeout: Option<Duration>,
    /// Close a TLS handshake, or answer 503 to an upgrade, not done this long
    /// after the connection was accepted [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub handshake_timeout: Option<Duration>,
    /// Connections at once; beyond, 503 with Retry-After [default: the
    /// open-file limit less a tenth (at least 64) kept for everything else].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Connections at once from one client address [default: no limit].
    /// Behind a load balancer, name it with --trusted-proxy first, or every
    /// client shares its address.
    #[arg(long, value_name = "N")]
    pub max_connections_per_ip: Option<usize>,
    /// Bytes of a request head; beyond, 431 [default: 16384].
    #[arg(long, value_name = "BYTES")]
    pub max_header_bytes: Option<usize>,
    /// Upgrades per second one client address may make (bursts of as many);
    /// beyond, 429 with Retry-After [default: no limit].
    #[arg(long, value_name = "PER_SECOND")]
    pub upgrades_per_ip: Option<u32>,
    /// A proxy or load balancer (address or CIDR range) whose `Forwarded` or
    /// `X-Forwarded-For` header names the client: per-address limits key on
    /// that client. Repeat for several. Default: none, every peer is the
    /// client and those headers are ignored.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    pub trusted_proxies: Vec<crate::server::IpRange>,
    /// An origin browsers reach this server at (`https://chat.example.com`):
    /// pages of it may open WebSockets (with the default same-origin policy).
    /// Repeat for several. Default: the loopback origins of --addr's port,
    /// for development.
    #[arg(long = "public-origin", value_name = "ORIGIN")]
    pub public_origins: Vec<crate::server::Origin>,
}

impl LimitFlags {
    /// Applies the flags that were given to `limits`.
    pub fn apply(&self, limits: &mut crate::server::Limits) {
        if let Some(d) = self.header_timeout {
            limits.header_read_timeout = d;
        }
        if let Some(d) = self.handshake_timeout {
            limits.handshake_timeout = d;
        }
        if let Some(n) = self.max_connections {
            limits.max_connections = n.max(1);
        }
        if let Some(n) = self.max_connections_per_ip {
            limits.max_connections_per_ip = Some(n.max(1));
        }
        if let Some(n) = self.max_header_bytes {
            limits.max_header_bytes = n;
        }
        if let Some(n) = self.upgrades_per_ip {
            limits.upgrade_rate_per_ip = Some(crate::Rate::per_second(n));
        }
        if !self.trusted_proxies.is_empty() {
            limits.trusted_proxies = self.trusted_proxies.clone();
        }
        if !self.public_origins.is_empty() {
            limits.public_origins = self.public_origins.clone();
        }
    }
}

/// `250ms`, `30s`, `2m`, `1h`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (250ms, 30s, 2m, 1h)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        other => Err(format!("unknown unit {other:?} (ms, s, m or h)")),
    }
}

/// A duration, or `off`.
fn parse_optional_duration(text: &str) -> Result<OptionalDuration, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(OptionalDuration(None));
    }
    parse_duration(text).map(|d| OptionalDuration(Some(d)))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        conn: ConnFlags,
    }

    fn parse(args: &[&str]) -> Result<ConnConfig, clap::Error> {
        let args = Args::try_parse_from(std::iter::once("bin").chain(args.iter().copied()))?;
        let mut config = ConnConfig::default();
        args.conn.apply(&mut config);
        Ok(config)
    }

    #[test]
    fn flags_set_what_they_say_and_nothing_else() {
        let config = parse(&[
            "--max-message-bytes",
            "100",
            "--ping-interval",
            "250ms",
            "--idle-timeout",
            "2m",
            "--origin",
            "https://app.example.com",
        ])
        .expect("valid flags");
        assert_eq!(config.ws.max_message_size, 100);
        assert_eq!(config.ping_interval, Some(Duration::from_millis(250)));
        assert_eq!(config.idle_timeout, Some(Duration::from_secs(120)));
        assert_eq!(
            config.origins,
            OriginPolicy::Allow(vec!["https://app.example.com".into()])
        );
        assert_eq!(config.outbound_queue, ConnConfig::default().outbound_queue);
        let off = parse(&["--ping-interval", "off", "--origin", "*"]).expect("valid flags");
        assert_eq!(off.ping_interval, None);
        assert_eq!(off.origins, OriginPolicy::Any);
    }

    #[test]
    fn bad_values_are_refused_with_the_reason() {
        let e = parse(&["--ping-interval", "soon"])
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("is not a duration")));
        assert!(parse(&["--compression", "12"]).is_err());
    }

    #[cfg(feature = "compression")]
    #[test]
    fn compression_without_a_level_is_level_one() {
        let config = parse(&["--compression"]).expect("valid flags");
        assert_eq!(config.compression.map(|c| c.level), Some(1));
    }
}
