//! Every metric the runtime records, described up front.
//!
//! The runtime records through the `metrics` facade wherever things happen; this
//! module is the one list of what it records, so that a recorder installed at
//! start-up (see `metrics::install`, feature `prometheus`) can show every series
//! from the first scrape, with its help text and type and at zero, instead of
//! an empty page that dashboards and alerts read as "no data". Series labelled
//! by endpoint appear when a router for the endpoint is built.

// Without a recorder to describe them to (feature `prometheus`), the lists
// are unused.
#![cfg_attr(not(feature = "prometheus"), allow(dead_code))]

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

use crate::server::EndpointName;

/// Reasons a connection closes (`nagare_connections_closed_total`).
pub(crate) const CLOSE_REASONS: &[&str] = &["done", "error", "peer", "shutdown", "expired"];
/// Reasons an upgrade is refused (`nagare_handshake_failures_total`).
pub(crate) const HANDSHAKE_FAILURES: &[&str] = &[
    "origin",
    "bad_handshake",
    "shutting_down",
    "hand_over",
    "endpoint_full",
];
/// What is done about a slow consumer (`nagare_slow_consumers_total`).
pub(crate) const SLOW_CONSUMER_ACTIONS: &[&str] = &["write_timeout", "disconnect"];
/// The close codes sent for protocol errors (`nagare_protocol_errors_total`).
pub(crate) const PROTOCOL_ERROR_CODES: &[&str] = &["1002", "1007", "1008", "1009"];
/// Kinds of service errors (`nagare_errors_total`).
pub(crate) const ERROR_KINDS: &[&str] = &["temporary", "resource_exhausted", "fatal"];
/// Why a connection is refused (`nagare_connections_refused_total`).
pub(crate) const REFUSALS: &[&str] = &[
    "max_connections",
    "max_connections_per_ip",
    "upgrade_rate",
    "failures",
];
/// What took too long (`nagare_handshake_timeouts_total`).
pub(crate) const HANDSHAKE_STAGES: &[&str] = &["tls", "head", "upgrade"];
/// What a broker was doing when it failed (`nagare_broker_errors_total`).
pub(crate) const BROKER_OPERATIONS: &[&str] =
    &["publish", "read", "history", "presence", "subscribe"];
/// Why a publish failed (`nagare_broker_publish_failures_total`): it waited
/// past its deadline, the queue was full, or the broker refused it.
pub(crate) const PUBLISH_FAILURES: &[&str] = &["deadline", "queue_full", "rejected"];

/// Describes every metric to the installed recorder and shows every series
/// that does not depend on an endpoint (at zero when it is new).
pub(crate) fn describe() {
    describe_gauge!(
        "nagare_connections_active",
        "WebSocket connections open now, by endpoint."
    );
    describe_counter!(
        "nagare_connections_opened_total",
        "WebSocket connections opened, by endpoint."
    );
    describe_counter!(
        "nagare_connections_closed_total",
        "WebSocket connections closed, by endpoint and reason (done, error, peer, shutdown, expired: the credentials)."
    );
    describe_counter!(
        "nagare_connections_dead_total",
        "Connections closed because the peer stopped answering pings."
    );
    describe_counter!(
        "nagare_messages_total",
        "Data messages, by direction (in, out)."
    );
    describe_counter!(
        "nagare_bytes_total",
        Unit::Bytes,
        "Payload bytes of data messages, by direction (in, out)."
    );
    describe_counter!(
        "nagare_slow_consumers_total",
        "Peers too slow to read, by action (write_timeout, disconnect)."
    );
    describe_counter!(
        "nagare_messages_dropped_total",
        "Messages dropped from full send queues (SlowConsumer::DropOldest)."
    );
    describe_histogram!(
        "nagare_send_queue_depth",
        "Messages waiting in a send queue when a batch of writes starts."
    );
    describe_counter!(
        "nagare_protocol_errors_total",
        "Peers that broke the WebSocket protocol or a limit, by the close code sent (1002, 1007, 1008: message rate or totals, 1009)."
    );
    describe_counter!(
        "nagare_compressed_connections_total",
        "Connections that negotiated permessage-deflate."
    );
    describe_counter!(
        "nagare_handshake_failures_total",
        "Upgrades refused, by reason (origin, bad_handshake, shutting_down, hand_over, endpoint_full)."
    );
    describe_counter!(
        "nagare_errors_total",
        "Service methods that failed, by kind (temporary, resource_exhausted, fatal)."
    );
    describe_gauge!(
        "nagare_server_connections",
        "Connections open now (HTTP and upgraded), counted against Limits::max_connections."
    );
    describe_counter!(
        "nagare_connections_refused_total",
        "Connections and requests answered 503/429 by the limits, by reason (max_connections, max_connections_per_ip, upgrade_rate, failures: a unary endpoint's failure limit)."
    );
    describe_counter!(
        "nagare_handshake_timeouts_total",
        "Connections closed or refused for taking too long, by stage (tls, head, upgrade)."
    );
    describe_counter!(
        "nagare_accept_errors_total",
        "Accepts that failed (out of descriptors, say), each followed by a back-off."
    );
    describe_counter!(
        "nagare_broker_errors_total",
        "Broker commands that failed, by operation (publish, read, history, presence, subscribe)."
    );
    describe_counter!(
        "nagare_broker_reconnects_total",
        "Times the broker's connection (Redis) came back after a loss."
    );
    describe_counter!(
        "nagare_broker_gap_repairs_total",
        "Gaps in a room's live messages filled from its history."
    );
    describe_gauge!(
        "nagare_broker_connected",
        "Whether the broker's service (Redis) answers: 1 or 0. In-memory rooms are always 1."
    );
    describe_gauge!(
        "nagare_broker_publishes_pending",
        "Publishes waiting for the broker's service (Redis)."
    );
    describe_counter!(
        "nagare_broker_publish_failures_total",
        "Publishes that failed and are not in their room, by reason (deadline, queue_full, rejected)."
    );
    describe_histogram!(
        "nagare_broker_delivery_lag_seconds",
        Unit::Seconds,
        "Time from a publish (in Redis) to its arrival on this node."
    );
    for reason in REFUSALS {
        metrics::counter!("nagare_connections_refused_total", "reason" => *reason).increment(0);
    }
    for stage in HANDSHAKE_STAGES {
        metrics::counter!("nagare_handshake_timeouts_total", "stage" => *stage).increment(0);
    }
    metrics::gauge!("nagare_server_connections").set(0.0);
    for op in BROKER_OPERATIONS {
        metrics::counter!("nagare_broker_errors_total", "op" => *op).increment(0);
    }
    for reason in PUBLISH_FAILURES {
        metrics::counter!("nagare_broker_publish_failures_total", "reason" => *reason).increment(0);
    }
    // Connected until a Redis broker finds otherwise.
    metrics::gauge!("nagare_broker_connected").set(1.0);
    metrics::gauge!("nagare_broker_publishes_pending").set(0.0);
    for name in [
        "nagare_accept_errors_total",
        "nagare_broker_reconnects_total",
        "nagare_broker_gap_repairs_total",
        "nagare_connections_dead_total",
        "nagare_messages_dropped_total",
        "nagare_compressed_connections_total",
    ] {
        metrics::counter!(name).increment(0);
    }
    for direction in ["in", "out"] {
        metrics::counter!("nagare_messages_total", "direction" => direction).increment(0);
        metrics::counter!("nagare_bytes_total", "direction" => direction).increment(0);
    }
    for action in SLOW_CONSUMER_ACTIONS {
        metrics::counter!("nagare_slow_consumers_total", "action" => *action).increment(0);
    }
    for code in PROTOCOL_ERROR_CODES {
        metrics::counter!("nagare_protocol_errors_total", "code" => *code).increment(0);
    }
    for reason in HANDSHAKE_FAILURES {
        metrics::counter!("nagare_handshake_failures_total", "reason" => *reason).increment(0);
    }
    for kind in ERROR_KINDS {
        metrics::counter!("nagare_errors_total", "kind" => *kind).increment(0);
    }
    // Registered without a sample: they show as empty summaries.
    let _ = metrics::histogram!("nagare_send_queue_depth");
    let _ = metrics::histogram!("nagare_broker_delivery_lag_seconds");
}

/// Records that a router built with `options` serves `endpoint` (one of its
/// streaming endpoints), and shows the endpoint's series, at zero when they
/// are new: its connections show as 0 before the first one.
pub fn describe_endpoint(options: &crate::ServerOptions, endpoint: EndpointName) {
    options.record_served(endpoint);
    let labels = [("service", endpoint.service), ("method", endpoint.method)];
    // Increments by nothing: a series that exists already keeps its value.
    metrics::gauge!("nagare_connections_active", &labels).increment(0.0);
    metrics::counter!("nagare_connections_opened_total", &labels).increment(0);
    for reason in CLOSE_REASONS {
        metrics::counter!(
            "nagare_connections_closed_total",
            "service" => endpoint.service,
            "method" => endpoint.method,
            "reason" => *reason
        )
        .increment(0);
    }
}
