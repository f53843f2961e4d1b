//! Starting a guide server on a loopback port for a test.

#![allow(dead_code)]

/// A running guide server.
pub struct Server {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub options: nagare::ServerOptions,
    task: tokio::task::JoinHandle<std::io::Result<nagare::server::ShutdownReport>>,
}

impl Server {
    /// Shuts the server down gracefully (connections closed with 1001) and
    /// waits until its port is free.
    pub async fn stop(self) {
        self.options.shutdown.cancel();
        let report = self.task.await.expect("server task").expect("serve");
        assert_eq!(report.abandoned, 0);
    }
}

/// Serves the guide on `127.0.0.1:0` with default options.
pub async fn start() -> Server {
    start_with(nagare::ServerOptions::new()).await
}

/// Serves the guide on `127.0.0.1:0`.
pub async fn start_with(options: nagare::ServerOptions) -> Server {
    serve(
        guide::service::Guide::new(guide::chat::Rooms::new(
            nagare::MemoryBroker::new().shared(),
        )),
        options,
        None,
    )
    .await
}

/// Serves `guide` on `addr` (a fresh loopback port when `None`).
pub async fn start_with_guide(
    guide: guide::service::Guide,
    addr: Option<std::net::SocketAddr>,
) -> Server {
    serve(guide, nagare::ServerOptions::new(), addr).await
}

async fn serve(
    guide: guide::service::Guide,
    options: nagare::ServerOptions,
    addr: Option<std::net::SocketAddr>,
) -> Server {
    let app = guide.router(options.clone());
    let listener = tokio::net::TcpListener::bind(addr.unwrap_or(([127, 0, 0, 1], 0).into()))
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local addr");
    let serving = options.clone();
    let task = tokio::spawn(async move {
        serving
            .serve(
                nagare::server::Listener::new(listener),
                app,
                std::time::Duration::from_secs(5),
            )
            .await
    });
    Server {
        base: format!("http://{addr}"),
        addr,
        options,
        task,
    }
}

#[allow(unused_imports)] // not every test binary bounds its tests
pub use nagare_testkit::bounded;

/// Reconnects quickly and for ever: the tests decide when the server is back.
pub fn fast_reconnect() -> nagare::RetryPolicy {
    nagare::RetryPolicy::default()
        .initial_delay(std::time::Duration::from_millis(1))
        .max_delay(std::time::Duration::from_millis(50))
        .forever()
}

/// A listener connection that publishes `message` events on the server at `base`.
pub async fn publisher(base: &str) -> guide::chat::ListenerClientStream {
    guide::chat::client::Client::new(base)
        .listener()
        .await
        .expect("listener connects")
}

/// Publishes one event, with `message` as its text.
pub async fn publish(listener: &mut guide::chat::ListenerClientStream, message: impl ToString) {
    listener
        .send(&guide::chat::ListenerStreamingPayload {
            message: message.to_string(),
        })
        .await
        .expect("publish");
}

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
