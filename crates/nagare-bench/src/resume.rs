//! `nagare-bench resume`: what the `nagare.v1` resume extension costs and how fast
//! a dropped subscription comes back.
//!
//! - Fan-out: the guide's `subscribe` to `subscribers` clients, once with plain
//!   Goa clients (unnumbered frames) and once with nagare's `ResumableStream`
//!   (numbered frames, checked), while a listener publishes `events` events, kept
//!   at most `WINDOW` ahead of the slowest subscriber (the replay log keeps 1024).
//! - Memory: the server's RSS growth per idle `nagare.v1` subscriber (each following
//!   the replay log, after one event), like the echo bench's idle figure.
//! - Recovery: one resumable subscriber behind a fault-injecting proxy; after
//!   every 100 events the proxy cuts the connection and the next event is
//!   published at once; the time from the cut to that event's arrival covers
//!   noticing the drop, the first retry delay (1 ms, with jitter), the new
//!   handshake and the replay.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::StreamExt;
use guide::chat;
use tokio::sync::watch;

use crate::client::publish_line;
use crate::process::ServerProcess;

/// How far the publisher may run ahead of the slowest subscriber.
const WINDOW: u64 = 256;

#[derive(clap::Parser, Clone)]
pub struct ResumeArgs {
    /// Subscribers in the fan-out runs.
    #[arg(long, default_value_t = 10)]
    subscribers: usize,
    /// Events published in each fan-out run.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Cuts in the recovery run.
    #[arg(long, default_value_t = 100)]
    cuts: usize,
    /// Idle numbered subscribers opened for the memory measurement.
    #[arg(long, default_value_t = 2000)]
    idle: usize,
}

pub async fn run(a: ResumeArgs) -> anyhow::Result<()> {
    let server = ServerProcess::spawn("serve-guide").await?;
    let base = format!("http://{}", server.addr);
    println!(
        "resume: {} subscribers x {} events; {} cuts",
        a.subscribers, a.events, a.cuts
    );
    println!(
        "| subscribers | events/s (each subscriber) | deliveries/s | server CPU per delivery |"
    );
    println!("|---|---|---|---|");
    for numbered in [false, true] {
        let cpu = server.cpu_time()?;
        let (rate, elapsed) =
            fan_out(&base, server.addr, a.subscribers, a.events, numbered).await?;
        let cpu = server.cpu_time()?.saturating_sub(cpu);
        let deliveries = a.events as f64 * a.subscribers as f64;
        println!(
            "| {} | {:.0} | {:.0} | {:.2} us |",
            if numbered {
                "nagare.v1 (ResumableStream)"
            } else {
                "plain Goa frames"
            },
            rate,
            deliveries / elapsed.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / deliveries
        );
    }
    let idle = idle_subscribers(&server, &base, a.idle).await?;
    println!(
        "memory per idle numbered subscriber ({} subscribers): {idle}",
        a.idle
    );
    let mut recoveries = recovery(&base, server.addr, a.cuts).await?;
    recoveries.sort();
    let pct = |p: f64| recoveries[((recoveries.len() - 1) as f64 * p).round() as usize];
    println!(
        "recovery after a cut ({} cuts): p50 {:?}, p99 {:?}, max {:?}",
        recoveries.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}

/// One fan-out run; returns events per second and the time the run took.
async fn fan_out(
    base: &str,
    addr: std::net::SocketAddr,
    subscribers: usize,
    events: u64,
    numbered: bool,
) -> anyhow::Result<(f64, Duration)> {
    let progress: Arc<Vec<AtomicU64>> =
        Arc::new((0..subscribers).map(|_| AtomicU64::new(0)).collect());
    let following = Arc::new(AtomicU64::new(0));
    let (advanced, mut slowest) = watch::channel(());
    let advanced = Arc::new(advanced);
    let mut tasks = Vec::new();
    for i in 0..subscribers {
        let progress = progress.clone();
        let following = following.clone();
        let advanced = advanced.clone();
        let mut next = subscriber(base, addr, numbered).await?;
        tasks.push(tokio::spawn(async move {
            let mut count = 0u64;
            let mut started = false;
            while count < events {
                let message = next.recv().await?;
                // Markers, published until every subscriber follows the log.
                if message.starts_with("ready") {
                    if !started {
                        started = true;
                        following.fetch_add(1, Ordering::Relaxed);
                        advanced.send_replace(());
                    }
                    continue;
                }
                count += 1;
                progress[i].store(count, Ordering::Relaxed);
                if count % 64 == 0 || count == events {
                    advanced.send_replace(());
                }
            }
            anyhow::Ok(())
        }));
    }
    let mut listener = chat::client::Client::new(base).listener().await?;
    let mut marker = 0;
    while following.load(Ordering::Relaxed) < subscribers as u64 {
        publish_line(&mut listener, format!("ready {marker}")).await?;
        marker += 1;
        if let Ok(Err(_)) = tokio::time::timeout(Duration::from_millis(10), slowest.changed()).await
        {
            bail!("subscribers stopped");
        }
    }
    let start = Instant::now();
    for e in 1..=events {
        crate::client::within_window(&progress, &mut slowest, e, WINDOW).await?;
        publish_line(&mut listener, format!("event {e}")).await?;
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = start.elapsed();
    Ok((events as f64 / elapsed.as_secs_f64(), elapsed))
}

/// A subscriber of either kind, as a source of event messages.
enum Subscriber {
    Plain(Box<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>>),
    Numbered(Box<chat::SubscribeClientStream>),
}

impl Subscriber {
    async fn recv(&mut self) -> anyhow::Result<String> {
        match self {
            Subscriber::Plain(ws) => loop {
                let frame = ws.next().await.context("stream ended")??;
                if frame.is_text() {
                    let event: chat::Event = serde_json::from_str(frame.to_text()?)?;
                    return Ok(event.message);
                }
            },
            Subscriber::Numbered(s) => Ok(s.recv().await?.context("stream ended")?.message),
        }
    }
}

async fn subscriber(
    base: &str,
    addr: std::net::SocketAddr,
    numbered: bool,
) -> anyhow::Result<Subscriber> {
    Ok(if numbered {
        Subscriber::Numbered(Box::new(chat::client::Client::new(base).subscribe().await?))
    } else {
        Subscriber::Plain(Box::new(crate::client::connect(addr, "/subscribe").await?))
    })
}

/// The recovery run: durations from each cut to the next event's arrival.
async fn recovery(
    base: &str,
    addr: std::net::SocketAddr,
    cuts: usize,
) -> anyhow::Result<Vec<Duration>> {
    let proxy = nagare_testkit::proxy::Proxy::start(addr).await;
    let policy = nagare::RetryPolicy::default()
        .initial_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(50))
        .forever();
    let mut events = chat::client::Client::new(proxy.url())
        .with_reconnect(policy)
        .subscribe()
        .await?;
    let mut listener = chat::client::Client::new(base).listener().await?;
    // Wait until the subscription follows the log.
    let mut marker = 0;
    loop {
        publish_line(&mut listener, format!("ready {marker}")).await?;
        marker += 1;
        match tokio::time::timeout(Duration::from_millis(10), events.recv()).await {
            Ok(r) => {
                r?.context("stream ended")?;
                break;
            }
            Err(_) => continue,
        }
    }
    let mut recoveries = Vec::with_capacity(cuts);
    for cut in 0..cuts {
        for i in 0..100 {
            publish_line(&mut listener, format!("{cut}.{i}")).await?;
            let got = events.recv().await?.context("stream ended")?;
            if !got.message.starts_with("ready") && got.message != format!("{cut}.{i}") {
                bail!("out of order: {} instead of {cut}.{i}", got.message);
            }
        }
        let reconnects = events.reconnects();
        let cut_at = Instant::now();
        proxy.cut();
        publish_line(&mut listener, format!("{cut}.after")).await?;
        loop {
            let got = events.recv().await?.context("stream ended")?;
            if got.message == format!("{cut}.after") {
                break;
            }
        }
        if events.reconnects() == reconnects {
            // The event crossed before the cut took effect: not a recovery.
            continue;
        }
        recoveries.push(cut_at.elapsed());
    }
    if recoveries.is_empty() {
        bail!("no cut was recovered from");
    }
    Ok(recoveries)
}

/// Opens `n` subscribers offering `nagare.v1`, publishes one event they all
/// receive, and returns the server's memory growth per subscriber.
pub(crate) async fn idle_subscribers(
    server: &ServerProcess,
    base: &str,
    n: usize,
) -> anyhow::Result<crate::echo::IdleMemory> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (rss_before, heap_before) = (server.rss_kib()?, server.heap_bytes().await?);
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let mut request = format!("ws://{}/subscribe", server.addr).into_client_request()?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", "nagare.v1".parse()?);
        let tcp = tokio::net::TcpStream::connect(server.addr).await?;
        tcp.set_nodelay(true)?;
        let (mut ws, _) = tokio_tungstenite::client_async_with_config(
            request,
            tcp,
            Some(crate::servers::ws_config()),
        )
        .await?;
        // The position frame: this subscriber follows the log.
        ws.next().await.context("no position frame")??;
        conns.push(ws);
    }
    let mut listener = chat::client::Client::new(base).listener().await?;
    publish_line(&mut listener, "to everyone".into()).await?;
    for ws in &mut conns {
        let frame = ws.next().await.context("stream ended")??;
        if !frame.is_text() || !frame.to_text()?.contains("to everyone") {
            bail!("unexpected frame {frame:?}");
        }
    }
    let memory = crate::echo::IdleMemory::since(server, rss_before, heap_before, n).await?;
    drop(conns);
    Ok(memory)
}
