//! A Prometheus endpoint for the runtime's metrics (feature `prometheus`).
//!
//! The runtime records through the `metrics` facade; any recorder works. This
//! module installs the Prometheus one and serves it. Install it before building
//! routers: every series is then listed from the first scrape, with its help
//! text and type, at zero (a router adds its endpoints' series when it is built).
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let handle = nagare::metrics::install()?;
//! let app = nagare::axum::Router::new().merge(nagare::metrics::router(handle));
//! # Ok(()) }
//! ```
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `nagare_connections_active` | gauge | service, method |
//! | `nagare_connections_opened_total` | counter | service, method |
//! | `nagare_connections_closed_total` | counter | service, method, reason (`done`, `error`, `peer`, `shutdown`, `expired`) |
//! | `nagare_connections_dead_total` | counter | (peers that stopped answering pings) |
//! | `nagare_messages_total`, `nagare_bytes_total` | counter | direction (`in`, `out`) |
//! | `nagare_slow_consumers_total` | counter | action (`write_timeout`, `disconnect`) |
//! | `nagare_messages_dropped_total` | counter | |
//! | `nagare_send_queue_depth` | histogram | |
//! | `nagare_protocol_errors_total` | counter | code (`1002`, `1007`, `1009`: the close sent) |
//! | `nagare_compressed_connections_total` | counter | (connections that negotiated permessage-deflate) |
//! | `nagare_handshake_failures_total` | counter | reason (`origin`, `bad_handshake`, `shutting_down`, `hand_over`) |
//! | `nagare_errors_total` | counter | kind (`temporary`, `resource_exhausted`, `fatal`: service methods that failed) |
//! | `nagare_broker_connected` | gauge | (1 while the broker's service answers) |
//! | `nagare_broker_publishes_pending` | gauge | (publishes waiting for Redis) |
//! | `nagare_broker_publish_failures_total` | counter | reason (`deadline`, `queue_full`, `rejected`) |

use std::time::Duration;

use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};

/// How often the recorder's pending histogram samples are folded into its
/// summaries.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(1);

/// The name of the thread that does the recorder's upkeep.
pub const UPKEEP_THREAD: &str = "nagare-metrics";

/// Installs the Prometheus recorder for the whole process, describes every
/// metric the runtime records, and starts its upkeep.
///
/// The recorder keeps every histogram sample (one per write batch of every
/// connection) until its upkeep or a scrape folds them into the summaries;
/// nothing else bounds them. Without upkeep, a server nobody scrapes grows by
/// megabytes a second under load, so a thread runs it every
/// [`UPKEEP_INTERVAL`] for the life of the process.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new().install_recorder()?;
    crate::server::telemetry::describe();
    let upkeep = handle.clone();
    let (started, running) = std::sync::mpsc::sync_channel(1);
    // A thread rather than a task: the recorder is process-wide and may be
    // installed before (or outside) any runtime.
    let spawned = std::thread::Builder::new()
        .name(UPKEEP_THREAD.to_owned())
        .spawn(move || {
            let _ = started.send(());
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                upkeep.run_upkeep();
            }
        });
    match spawned {
        // Returns once the thread runs, so that it is there (and named) when
        // the caller goes on.
        Ok(_) => {
            let _ = running.recv();
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot start the metrics upkeep: histogram samples will accumulate until scraped")
        }
    }
    Ok(handle)
}

/// `GET /metrics` in Prometheus' text format.
pub fn router(handle: PrometheusHandle) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    handle.render(),
                )
            }
        }),
    )
}
