//! The guide's services: a chat room whose messages fan out to subscribers, and a
//! monitor that streams the chat's own metrics.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let options = nagare::ServerOptions::new();
//! let rooms = guide::chat::Rooms::new(nagare::MemoryBroker::new().shared());
//! let app = guide::service::Guide::new(rooms).router(options.clone());
//! let listener = nagare::server::Listener::bind("127.0.0.1:8080").await?;
//! options.serve(listener, app, std::time::Duration::from_secs(10)).await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::{chat, monitor};

/// Messages of one connection published without waiting for the broker's
/// acknowledgement: a listener on a Redis-backed server is not held to one
/// message per round trip.
const PUBLISH_DEPTH: usize = 256;

/// State shared by both services.
#[derive(Clone)]
pub struct Guide {
    inner: Arc<Inner>,
}

struct Inner {
    /// The chat's room: every event, numbered; the last
    /// `chat::SUBSCRIBE_HISTORY` are kept for subscribers that were away. A
    /// subscriber further behind is closed with 4010 rather than silently
    /// skipping events.
    rooms: chat::Rooms,
    subscribers: AtomicU64,
    messages: AtomicU64,
    listened: AtomicU64,
    echoed: AtomicU64,
}

impl Guide {
    /// The chat, its room in `rooms`: on a `nagare::MemoryBroker`, kept in
    /// this process; on a Redis broker, shared with every server on that Redis
    /// and kept across restarts.
    pub fn new(rooms: chat::Rooms) -> Self {
        Guide {
            inner: Arc::new(Inner {
                rooms,
                subscribers: AtomicU64::new(0),
                messages: AtomicU64::new(0),
                listened: AtomicU64::new(0),
                echoed: AtomicU64::new(0),
            }),
        }
    }

    /// The router serving both services.
    pub fn router(&self, options: nagare::ServerOptions) -> nagare::axum::Router {
        chat::server::router(self.clone(), options.clone())
            .merge(monitor::server::router(self.clone(), options))
    }

    /// A publisher into the chat's room for one connection's messages.
    fn publisher(&self) -> nagare::Publisher<chat::Event> {
        self.inner.rooms.subscribe().publisher(PUBLISH_DEPTH)
    }

    /// Records a received message and tells every subscriber; fails when the
    /// room's broker could not take this or an earlier message.
    async fn publish(
        &self,
        publisher: &mut nagare::Publisher<chat::Event>,
        message: &str,
        action: chat::EventAction,
    ) -> Result<(), chat::Error> {
        // The event is encoded as the publish starts and not kept while it
        // waits: every connection's future is sized for this wait.
        let published = publisher.publish(&chat::Event {
            message: message.to_owned(),
            action,
            timestamp: now(),
        });
        let counter = match action {
            chat::EventAction::Listener => &self.inner.listened,
            chat::EventAction::Echo => &self.inner.echoed,
        };
        published.await?;
        self.inner.messages.fetch_add(1, Ordering::Relaxed);
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
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
            (
                "subscribers",
                self.inner.subscribers.load(Ordering::Relaxed) as f64,
            ),
        ]
    }
}

/// Counts a subscriber while it is connected, however its method ends.
struct Subscribed<'a>(&'a AtomicU64);

impl<'a> Subscribed<'a> {
    fn new(count: &'a AtomicU64) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Subscribed(count)
    }
}

impl Drop for Subscribed<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl chat::Service for Guide {
    async fn listener(&self, mut stream: chat::ListenerServerStream) -> Result<(), chat::Error> {
        let mut publisher = self.publisher();
        while let Some(msg) = stream.recv().await? {
            self.publish(&mut publisher, &msg.message, chat::EventAction::Listener)
                .await?;
        }
        Ok(publisher.flush().await?)
    }

    async fn subscribe(&self, mut stream: chat::SubscribeServerStream) -> Result<(), chat::Error> {
        let _counted = Subscribed::new(&self.inner.subscribers);
        // Replays what a returning subscriber missed, then forwards every new
        // event until the subscriber leaves.
        Ok(self.inner.rooms.follow_subscribe(&mut stream).await?)
    }

    async fn echo(&self, stream: chat::EchoServerStream) -> Result<(), chat::Error> {
        let (mut tx, mut rx) = stream.split();
        let mut publisher = self.publisher();
        while let Some(msg) = rx.recv().await? {
            self.publish(&mut publisher, &msg.message, chat::EventAction::Echo)
                .await?;
            tx.send(&chat::EchoResult {
                message: msg.message,
            })
            .await?;
        }
        Ok(publisher.flush().await?)
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
