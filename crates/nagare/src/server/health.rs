//! Health endpoints for load balancers and orchestrators (Kubernetes probes):
//! `GET /healthz` answers while the process does, `GET /readyz` while the
//! server should get new clients.
//!
//! Not ready is 503, for either reason:
//! - **draining**: the server was told to stop (SIGTERM, or
//!   [`ServerOptions::shutdown`] cancelled). On a signal,
//!   [`ServerOptions::serve`] turns not-ready first and waits
//!   [`ServerOptions::drain_delay`] before it stops accepting and closes
//!   connections, so a load balancer that polls `/readyz` stops sending new
//!   clients before the old ones are closed;
//! - **a broker is down**: its service (Redis) does not answer, so publishes
//!   wait and may fail ([`Broker::health`](crate::broker::Broker::health)).
//!   Connections already open keep being served meanwhile.
//!
//! ```no_run
//! # async fn example(app: nagare::axum::Router) -> std::io::Result<()> {
//! let options = nagare::ServerOptions::new();
//! let broker = nagare::MemoryBroker::new().shared();
//! let app = app.merge(nagare::server::health::router(&options, &[broker]));
//! # Ok(()) }
//! ```

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::broker::{BrokerHealth, SharedBroker};
use crate::server::ServerOptions;

/// `GET /healthz` and `GET /readyz` for a server with `options`, ready while
/// each of `brokers` is up.
pub fn router(options: &ServerOptions, brokers: &[SharedBroker]) -> Router {
    let options = options.clone();
    let brokers = brokers.to_vec();
    Router::new()
        .route(
            "/healthz",
            get(|| async { answer(StatusCode::OK, "{\"live\":true}") }),
        )
        .route(
            "/readyz",
            get(move || {
                let reasons = not_ready(&options, &brokers);
                async move {
                    match reasons.is_empty() {
                        true => answer(StatusCode::OK, "{\"ready\":true}"),
                        false => {
                            let body = serde_json::json!({ "ready": false, "reasons": reasons });
                            answer(StatusCode::SERVICE_UNAVAILABLE, &body.to_string())
                        }
                    }
                }
            }),
        )
}

/// Why the server should not get new clients now; empty when it should.
pub fn not_ready(options: &ServerOptions, brokers: &[SharedBroker]) -> Vec<String> {
    let mut reasons = Vec::new();
    if options.is_draining() {
        reasons.push("draining".to_owned());
    }
    for broker in brokers {
        if let BrokerHealth::Down(why) = broker.health() {
            reasons.push(format!("broker: {why}"));
        }
    }
    reasons
}

fn answer(status: StatusCode, body: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        format!("{body}\n"),
    )
        .into_response()
}
