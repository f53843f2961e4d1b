//! Starting a guide server on a loopback port for a test.

#![allow(dead_code)]

/// A running guide server.
pub struct Server {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub options: nagare::ServerOptions,
}

/// Serves the guide on `127.0.0.1:0` with default options.
pub async fn start() -> Server {
    start_with(nagare::ServerOptions::new()).await
}

/// Serves the guide on `127.0.0.1:0`.
pub async fn start_with(options: nagare::ServerOptions) -> Server {
    let app = guide::service::Guide::new().router(options.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { nagare::export::axum::serve(listener, app).await });
    Server {
        base: format!("http://{addr}"),
        addr,
        options,
    }
}

pub use nagare_testkit::bounded;

/// Waits until the monitor reports `metric` at `value` or more, by streaming
/// analytics every 10 ms: an event to await, not a sleep.
pub async fn wait_for_metric(base: &str, metric: &str, value: f64) {
    wait_for_metric_where(base, metric, |v| v >= value).await
}

/// Waits until the monitor reports a value of `metric` that satisfies `ok`.
pub async fn wait_for_metric_where(base: &str, metric: &str, ok: impl Fn(f64) -> bool) {
    let client = guide::monitor::client::Client::new(base);
    let payload = guide::monitor::AnalyticsPayload {
        view: Some("summary".into()),
        interval_ms: 10,
        rounds: None,
    };
    let mut stream = client.analytics(&payload).await.expect("analytics");
    while let Some(update) = stream.recv().await.expect("metric update") {
        if update.metric == metric && ok(update.value) {
            return;
        }
    }
    panic!("analytics ended before {metric} reached the awaited value");
}
