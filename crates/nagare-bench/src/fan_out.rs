//! The fan-out case of `server-bound`: one room delivered to many
//! subscribers, against a bare `tokio::sync::broadcast` + tungstenite server
//! that is fed the very bytes the nagare server under test sends (see
//! [`Bytes`]): a delivery's cost grows with its size, so a floor of smaller
//! frames would charge nagare for its payload.
//!
//! Subscribers are raw sockets that count frames from their headers and never
//! parse a payload: the k-th event frame a subscriber sees is event k (rooms
//! deliver in order), and its latency is read from the time the publisher
//! stamped for event k in a shared table. Markers (a short message) come
//! first, until every subscriber has seen one, so that no event can pass a
//! subscription still being set up; events (a long message) are told from
//! markers by their length. The publisher keeps at most a window of events
//! ([`WINDOW`] unless told) ahead of the slowest subscriber, well inside every room's buffer, so a
//! run loses nothing unless the server does; a run that delivers less than
//! every event to every subscriber fails.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::client::{all_following, frame_at, publish_line, upgrade, within_window};
use crate::process::{cpu_of, ServerProcess};

/// How far the publisher may run ahead of the slowest subscriber by default
/// (the bare server's channel and the guide's room both hold 1024).
pub const WINDOW: u64 = 256;

/// An event's message: long, so that its frame is told from a marker's by
/// length alone.
fn event_message() -> String {
    "x".repeat(64)
}

/// A marker's message.
const MARKER: &str = "m";

/// The JSON a room's subscribers receive for one published message: what a
/// raw publisher sends the bare broadcast, so that the floor carries the
/// same bytes per delivery as the nagare server it is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bytes {
    /// The bench design's typed room of `{message}` events.
    Note,
    /// The guide's `Event`: the message, the endpoint it came through and
    /// when (a timestamp of the length the guide writes).
    GuideEvent,
}

impl Bytes {
    /// The frame's text: compact JSON and the newline nagare ends every
    /// message with (as Go's JSON encoder does).
    fn json(self, message: &str) -> String {
        match self {
            Bytes::Note => format!("{{\"message\":\"{message}\"}}\n"),
            Bytes::GuideEvent => format!(
                "{{\"message\":\"{message}\",\"action\":\"listener\",\"timestamp\":\"2026-01-01T00:00:00.000Z\"}}\n"
            ),
        }
    }
}

/// How the publisher reaches the room of a server.
pub enum Publisher {
    /// The bare broadcast's WebSocket: each text frame is published as is.
    Bare(Bytes),
    /// The guide's typed `/listen` stream.
    Guide,
    /// The bench design's typed `/publish` stream (raw frames of the JSON it
    /// decodes).
    Typed,
}

/// One fan-out run's figures.
pub struct FanOut {
    pub deliveries_per_s: f64,
    pub p50_us: u32,
    pub p99_us: u32,
    pub server_busy: f64,
    pub generator_busy: f64,
    pub cpu_per_delivery_us: f64,
    /// The length of an event's frame as subscribers received it.
    pub event_frame_bytes: usize,
}

impl FanOut {
    /// Something other than the server was the limit.
    pub fn not_server_bound(&self) -> bool {
        crate::process::not_server_bound(self.server_busy)
    }
}

/// Subscribes `subscribers` raw sockets at `path` of `server`, publishes
/// `events` events at most `window` ahead of the slowest, and measures their
/// delivery.
pub async fn run(
    server: &ServerProcess,
    path: &str,
    publisher: Publisher,
    subscribers: usize,
    events: u64,
    window: u64,
) -> anyhow::Result<FanOut> {
    let progress: Arc<Vec<AtomicU64>> =
        Arc::new((0..subscribers).map(|_| AtomicU64::new(0)).collect());
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..=events).map(|_| AtomicU64::new(0)).collect());
    let following = Arc::new(AtomicU64::new(0));
    let (advanced, mut slowest) = watch::channel(());
    let advanced = Arc::new(advanced);
    let clock = Instant::now();
    let mut tasks = Vec::with_capacity(subscribers);
    for i in 0..subscribers {
        let tcp = upgrade(server.addr, path).await?;
        let shared = (
            progress.clone(),
            sent_at.clone(),
            following.clone(),
            advanced.clone(),
        );
        tasks.push(tokio::spawn(subscriber(tcp, i, events, clock, shared)));
    }
    let mut publish = Publish::open(server.addr, publisher).await?;
    // Markers until every subscriber has seen one.
    loop {
        publish.send(MARKER.to_owned()).await?;
        if all_following(&following, subscribers, &mut slowest).await? {
            break;
        }
    }
    let (server_before, me_before) = (server.cpu_time()?, cpu_of(std::process::id())?);
    let start = Instant::now();
    let message = event_message();
    for e in 1..=events {
        within_window(&progress, &mut slowest, e, window).await?;
        sent_at[e as usize].store(clock.elapsed().as_micros() as u64, Ordering::Relaxed);
        publish.send(message.clone()).await?;
    }
    let mut latencies = Vec::with_capacity(subscribers * events as usize);
    let mut event_frame_bytes = 0;
    for t in tasks {
        let (seen, frame_bytes) = t.await??;
        latencies.extend(seen);
        event_frame_bytes = frame_bytes;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let server_cpu = server.cpu_time()?.saturating_sub(server_before);
    let me_cpu = cpu_of(std::process::id())?.saturating_sub(me_before);
    latencies.sort_unstable();
    let deliveries = subscribers as f64 * events as f64;
    Ok(FanOut {
        deliveries_per_s: deliveries / elapsed,
        p50_us: crate::echo::percentile(&latencies, 0.50),
        p99_us: crate::echo::percentile(&latencies, 0.99),
        server_busy: server_cpu.as_secs_f64() / elapsed,
        generator_busy: me_cpu.as_secs_f64() / elapsed,
        cpu_per_delivery_us: server_cpu.as_secs_f64() * 1e6 / deliveries,
        event_frame_bytes,
    })
}

type Shared = (
    Arc<Vec<AtomicU64>>,
    Arc<Vec<AtomicU64>>,
    Arc<AtomicU64>,
    Arc<watch::Sender<()>>,
);

/// One subscriber: counts markers and events from frame headers; returns the
/// latency of every event, in microseconds, and the length of an event's frame.
async fn subscriber(
    mut tcp: tokio::net::TcpStream,
    i: usize,
    events: u64,
    clock: Instant,
    (progress, sent_at, following, advanced): Shared,
) -> anyhow::Result<(Vec<u32>, usize)> {
    let mut latencies = Vec::with_capacity(events as usize);
    let mut event_len = 0;
    let mut buf = vec![0u8; 16 * 1024];
    let (mut filled, mut count) = (0usize, 0u64);
    // The length of a marker's frame, from the first frame (always a marker).
    let mut marker_len: Option<usize> = None;
    while count < events {
        let n = tcp.read(&mut buf[filled..]).await?;
        if n == 0 {
            bail!("subscriber {i}: the server closed after {count} of {events} events");
        }
        filled += n;
        let now = clock.elapsed().as_micros() as u64;
        let mut at = 0;
        while let Some((len, data)) = frame_at(&buf[at..filled]) {
            at += len;
            if !data {
                continue;
            }
            match marker_len {
                None => {
                    marker_len = Some(len);
                    following.fetch_add(1, Ordering::Relaxed);
                    advanced.send_replace(());
                }
                // Events are 63 bytes longer than markers.
                Some(m) if len < m + 32 => {}
                Some(_) => {
                    event_len = len;
                    count += 1;
                    let sent = sent_at
                        .get(count as usize)
                        .context("more events than published")?
                        .load(Ordering::Relaxed);
                    latencies.push(now.saturating_sub(sent) as u32);
                    progress[i].store(count, Ordering::Relaxed);
                    if count % 16 == 0 || count == events {
                        advanced.send_replace(());
                    }
                }
            }
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
    }
    // Closing without a handshake: the server must cope, as with any peer.
    drop(tcp);
    Ok((latencies, event_len))
}

/// The publishing side of a run.
enum Publish {
    /// A raw WebSocket and the JSON it frames each message as.
    Raw(tokio::net::TcpStream, Bytes),
    Guide(Box<guide::chat::ListenerClientStream>),
}

impl Publish {
    async fn open(addr: SocketAddr, how: Publisher) -> anyhow::Result<Self> {
        Ok(match how {
            Publisher::Bare(bytes) => Publish::Raw(upgrade(addr, "/").await?, bytes),
            Publisher::Typed => Publish::Raw(upgrade(addr, "/publish").await?, Bytes::Note),
            Publisher::Guide => Publish::Guide(Box::new(
                guide::chat::client::Client::new(format!("http://{addr}"))
                    .listener()
                    .await?,
            )),
        })
    }

    async fn send(&mut self, message: String) -> anyhow::Result<()> {
        match self {
            Publish::Raw(tcp, bytes) => {
                let frame = nagare_testkit::wire::raw_frame(0x81, bytes.json(&message).as_bytes());
                tcp.write_all(&frame).await?;
                Ok(())
            }
            Publish::Guide(listener) => publish_line(listener, message).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use nagare::Message;

    use super::*;

    /// The frame text nagare writes for `msg`: its JSON and a newline.
    fn nagare_text<T: Message>(msg: &T) -> String {
        let mut out = Vec::new();
        assert!(msg.encode(None, &mut out).is_ok());
        out.push(b'\n');
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn the_floors_carry_the_bytes_nagare_sends_subscribers() {
        let message = event_message();
        let event = guide::chat::Event {
            message: message.clone(),
            action: guide::chat::EventAction::Listener,
            // The guide's clock, at the length it writes (milliseconds, Z).
            timestamp: "2026-11-30T23:59:59.999Z".to_owned(),
        };
        let floor = Bytes::GuideEvent.json(&message);
        assert_eq!(floor.len(), nagare_text(&event).len());
        assert!(guide::chat::Event::decode(floor.as_bytes(), None).is_ok());
        let note = crate::typed_echo::typed::Note { message };
        assert_eq!(Bytes::Note.json(&note.message), nagare_text(&note));
    }
}
