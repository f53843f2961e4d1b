//! The guide's services: a chat room whose messages fan out to subscribers, and a
//! monitor that streams the chat's own metrics.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let guide = guide::service::Guide::new();
//! let app = guide.router(nagare::ServerOptions::new());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! nagare::export::axum::serve(listener, app).await
//! # }
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::{chat, monitor};

/// Events kept for subscribers that are momentarily behind. A subscriber further
/// behind than this is closed (1011) rather than silently skipping events.
const EVENT_BACKLOG: usize = 1024;

/// State shared by both services.
#[derive(Clone)]
pub struct Guide {
    inner: Arc<Inner>,
}

struct Inner {
    events: broadcast::Sender<chat::Event>,
    messages: AtomicU64,
    listened: AtomicU64,
    echoed: AtomicU64,
}

impl Default for Guide {
    fn default() -> Self {
        Self::new()
    }
}

impl Guide {
    /// A fresh chat room.
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        Guide {
            inner: Arc::new(Inner {
                events,
                messages: AtomicU64::new(0),
                listened: AtomicU64::new(0),
                echoed: AtomicU64::new(0),
            }),
        }
    }

    /// The router serving both services.
    pub fn router(&self, options: nagare::ServerOptions) -> nagare::export::axum::Router {
        chat::server::router(Arc::new(self.clone()), options.clone())
            .merge(monitor::server::router(Arc::new(self.clone()), options))
    }

    /// Records a received message and tells every subscriber.
    fn publish(&self, message: &str, action: &str) {
        self.inner.messages.fetch_add(1, Ordering::Relaxed);
        let counter = match action {
            "listener" => &self.inner.listened,
            _ => &self.inner.echoed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        // No subscriber is not an error: the event simply has no audience.
        let _ = self.inner.events.send(chat::Event {
            message: message.to_owned(),
            action: action.to_owned(),
            timestamp: now(),
        });
    }

    /// The metrics the monitor reports, by name.
    fn read_metrics(&self) -> Vec<(&'static str, f64)> {
        vec![
            (
                "messages_total",
                self.inner.messages.load(Ordering::Relaxed) as f64,
            ),
            (
                "listener_messages_total",
                self.inner.listened.load(Ordering::Relaxed) as f64,
            ),
            (
                "echo_messages_total",
                self.inner.echoed.load(Ordering::Relaxed) as f64,
            ),
            ("subscribers", self.inner.events.receiver_count() as f64),
        ]
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl chat::Service for Guide {
    async fn listener(&self, mut stream: chat::ListenerServerStream) -> Result<(), chat::Error> {
        while let Some(msg) = stream.recv().await? {
            self.publish(&msg.message, "listener");
        }
        Ok(())
    }

    async fn subscribe(&self, mut stream: chat::SubscribeServerStream) -> Result<(), chat::Error> {
        let mut events = self.inner.events.subscribe();
        let gone = stream.closed();
        tokio::pin!(gone);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(event) => stream.send(&event).await?,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        return Err(chat::Error::internal(format!("subscriber fell {n} events behind")));
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                () = &mut gone => return Ok(()),
            }
        }
    }

    async fn echo(&self, stream: chat::EchoServerStream) -> Result<(), chat::Error> {
        let (mut tx, mut rx) = stream.split();
        while let Some(msg) = rx.recv().await? {
            self.publish(&msg.message, "echo");
            tx.send(&chat::EchoResult {
                message: msg.message,
            })
            .await?;
        }
        Ok(())
    }
}

impl monitor::Service for Guide {
    async fn analytics(
        &self,
        payload: monitor::AnalyticsPayload,
        mut stream: monitor::AnalyticsServerStream,
    ) -> Result<(), monitor::Error> {
        let interval = Duration::from_millis(payload.interval_ms.max(1) as u64);
        let mut ticker = tokio::time::interval(interval);
        let mut previous: HashMap<&'static str, f64> = HashMap::new();
        let mut round = 0;
        loop {
            if payload.rounds.is_some_and(|max| round >= max) {
                return Ok(());
            }
            ticker.tick().await;
            round += 1;
            for (metric, value) in self.read_metrics() {
                let change = value - previous.insert(metric, value).unwrap_or(value);
                let update = monitor::MetricUpdate {
                    timestamp: now(),
                    metric: metric.to_owned(),
                    value,
                    change,
                    metadata: Some(HashMap::from([("service".to_owned(), "chat".to_owned())])),
                };
                stream.send(&update).await?;
            }
        }
    }
}
