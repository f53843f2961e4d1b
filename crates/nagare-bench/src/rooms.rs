//! `nagare-bench rooms`: rooms on Redis, against the in-memory default.
//!
//! The bench starts its own Redis (Debian's `redis-server`, appendonly on) on a
//! free loopback port and guide servers of its own (`serve-guide`, pinned to
//! CPU 0 like every server of this bench); the load generator (this process)
//! moves to CPU 1.
//!
//! - Publish: `publishers` tasks of this process publish into one room through
//!   one `RedisBroker` (commands pipelined on its connection), each waiting for
//!   its publish before the next; publishes/s and the latency of one publish.
//! - Fan-out: `subscribers` plain subscribers of the guide's room, all on one
//!   in-memory node, then split between two nodes on Redis, while a listener
//!   publishes `events` events (kept at most `WINDOW` ahead of the slowest
//!   subscriber); deliveries/s, the latency from publish to arrival, and the
//!   CPU each side used, so that the bottleneck is named.
//! - Recovery: a resumable subscriber behind a proxy; its node is killed with
//!   SIGKILL, the proxy points at the other node, and an event is published
//!   there at once: the time from the kill to that event's arrival.
//! - Memory: the RSS and heap growth of a Redis-backed node per idle
//!   `nagare.v1` subscriber of one room.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use guide::chat;
use nagare::broker::{Broker, RedisBroker, RedisConfig, RoomConfig, RoomId};
use nagare_testkit::redis::RedisServer;
use tokio::sync::watch;

use crate::client::publish_line;
use crate::process::{cpu_of, ServerProcess};

/// How far the publisher may run ahead of the slowest subscriber (the room
/// keeps 1024).
const WINDOW: u64 = 256;

#[derive(clap::Parser, Clone)]
pub struct RoomsArgs {
    /// Concurrent publishers in the publish run.
    #[arg(long, default_value_t = 64)]
    publishers: usize,
    /// Publishes in the publish run.
    #[arg(long, default_value_t = 200_000)]
    publishes: u64,
    /// Subscribers in each fan-out run (split between two nodes on Redis).
    #[arg(long, default_value_t = 10_000)]
    subscribers: usize,
    /// Events published in each fan-out run at full speed.
    #[arg(long, default_value_t = 200)]
    events: u64,
    /// Events per second in the paced fan-out runs, which measure latency
    /// below saturation.
    #[arg(long, default_value_t = 2)]
    rate: u64,
    /// Events published in each paced run.
    #[arg(long, default_value_t = 20)]
    paced_events: u64,
    /// Node kills in the recovery run.
    #[arg(long, default_value_t = 10)]
    kills: usize,
    /// Idle subscribers for the memory measurement.
    #[arg(long, default_value_t = 2000)]
    idle: usize,
}

pub async fn run(a: RoomsArgs) -> anyhow::Result<()> {
    pin_to_cpu(1);
    let redis = RedisServer::start().await;
    println!("rooms on Redis ({}), load generator on CPU 1", redis.url());
    publish_run(&redis, a.publishers, a.publishes).await?;
    println!();
    println!(
        "fan-out: {} subscribers x {} events (~90 B frames)",
        a.subscribers, a.events
    );
    println!("| broker | nodes | deliveries/s | p50 | p99 | server CPU | generator CPU | server CPU per delivery |");
    println!("|---|---|---|---|---|---|---|---|");
    let pace = Duration::from_secs(1) / a.rate.max(1) as u32;
    let memory = vec![ServerProcess::spawn("serve-guide").await?];
    let in_memory = fan_out_run("memory", &memory, a.subscribers, a.events, None).await?;
    drop(memory);
    let url = redis.url();
    let nodes = vec![
        ServerProcess::spawn_with("serve-guide", &["--redis", &url]).await?,
        ServerProcess::spawn_with("serve-guide", &["--redis", &url]).await?,
    ];
    let on_redis = fan_out_run("Redis", &nodes, a.subscribers, a.events, None).await?;
    drop(nodes);
    let memory = vec![ServerProcess::spawn("serve-guide").await?];
    fan_out_run(
        "memory, paced",
        &memory,
        a.subscribers,
        a.paced_events,
        Some(pace),
    )
    .await?;
    drop(memory);
    let nodes = vec![
        ServerProcess::spawn_with("serve-guide", &["--redis", &url]).await?,
        ServerProcess::spawn_with("serve-guide", &["--redis", &url]).await?,
    ];
    fan_out_run(
        "Redis, paced",
        &nodes,
        a.subscribers,
        a.paced_events,
        Some(pace),
    )
    .await?;
    drop(nodes);
    println!(
        "Redis / memory deliveries/s at full speed: {:.2}; paced runs publish {} events/s",
        on_redis / in_memory,
        a.rate
    );
    println!();
    recovery_run(&url, a.kills).await?;
    let node = ServerProcess::spawn_with("serve-guide", &["--redis", &url]).await?;
    let idle =
        crate::resume::idle_subscribers(&node, &format!("http://{}", node.addr), a.idle).await?;
    println!(
        "memory per idle nagare.v1 subscriber of a Redis-backed node ({} subscribers): {idle}",
        a.idle
    );
    Ok(())
}

/// Moves this process to `cpu` when `taskset` exists.
fn pin_to_cpu(cpu: u32) {
    let _ = std::process::Command::new("taskset")
        .args(["-cp", &cpu.to_string(), &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .status();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn publish_run(redis: &RedisServer, publishers: usize, total: u64) -> anyhow::Result<()> {
    let broker = Arc::new(RedisBroker::connect(RedisConfig::new(redis.url())).await?);
    let room = Arc::new(RoomId::new("bench.publish", RoomConfig::new(1024)));
    let frame = nagare::ws::TextBytes::from(format!("{{\"message\":\"{}\"}}\n", "x".repeat(50)));
    let redis_pid = redis.pid().context("redis pid")?;
    let (redis_cpu, own_cpu) = (cpu_of(redis_pid)?, cpu_of(std::process::id())?);
    let per_task = total / publishers as u64;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..publishers {
        let (broker, room, frame) = (broker.clone(), room.clone(), frame.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_task as usize);
            for _ in 0..per_task {
                let t = Instant::now();
                broker.publish(&room, frame.clone()).await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = start.elapsed();
    let redis_cpu = cpu_of(redis_pid)?.saturating_sub(redis_cpu);
    let own_cpu = cpu_of(std::process::id())?.saturating_sub(own_cpu);
    latencies.sort();
    let n = latencies.len() as f64;
    println!(
        "publish with history (one room, {publishers} publishers, {} publishes of 64 B): {:.0}/s, p50 {:?}, p99 {:?}; CPU over {:.1?}: redis-server {:.0}%, publisher {:.0}%",
        latencies.len(),
        n / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        elapsed,
        100.0 * redis_cpu.as_secs_f64() / elapsed.as_secs_f64(),
        100.0 * own_cpu.as_secs_f64() / elapsed.as_secs_f64(),
    );
    Ok(())
}

/// One fan-out run over `nodes` (subscribers spread over them, the publisher
/// on the first); prints a row and returns the deliveries per second.
async fn fan_out_run(
    broker: &str,
    nodes: &[ServerProcess],
    subscribers: usize,
    events: u64,
    pace: Option<Duration>,
) -> anyhow::Result<f64> {
    let progress: Arc<Vec<AtomicU64>> =
        Arc::new((0..subscribers).map(|_| AtomicU64::new(0)).collect());
    let following = Arc::new(AtomicU64::new(0));
    let (advanced, mut slowest) = watch::channel(());
    let advanced = Arc::new(advanced);
    let clock = Instant::now();
    let mut tasks = Vec::with_capacity(subscribers);
    for i in 0..subscribers {
        let node = &nodes[i % nodes.len()];
        let mut ws = crate::client::connect(node.addr, "/subscribe").await?;
        let (progress, following, advanced) =
            (progress.clone(), following.clone(), advanced.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(events as usize);
            let mut started = false;
            let mut count = 0u64;
            while count < events {
                let frame = ws.next().await.context("stream ended")??;
                let text = frame.to_text()?;
                let Some(message) = message_of(text) else {
                    continue;
                };
                if message.starts_with("ready") {
                    if !started {
                        started = true;
                        following.fetch_add(1, Ordering::Relaxed);
                        advanced.send_replace(());
                    }
                    continue;
                }
                let sent: u64 = message
                    .rsplit(' ')
                    .next()
                    .and_then(|t| t.parse().ok())
                    .context("a timestamp")?;
                latencies.push(clock.elapsed().saturating_sub(Duration::from_micros(sent)));
                count += 1;
                progress[i].store(count, Ordering::Relaxed);
                if count % 16 == 0 || count == events {
                    advanced.send_replace(());
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    let base = format!("http://{}", nodes[0].addr);
    let mut listener = chat::client::Client::new(&base).listener().await?;
    // Markers until every subscriber has seen one: it follows the room, so no
    // event can pass it by.
    for marker in 0.. {
        publish_line(&mut listener, format!("ready {marker}")).await?;
        if crate::client::all_following(&following, subscribers, &mut slowest).await? {
            break;
        }
    }
    let server_cpu: Vec<Duration> = nodes
        .iter()
        .map(|n| n.cpu_time())
        .collect::<Result<_, _>>()?;
    let own_cpu = cpu_of(std::process::id())?;
    let start = Instant::now();
    for e in 1..=events {
        crate::client::within_window(&progress, &mut slowest, e, WINDOW).await?;
        if let Some(pace) = pace {
            tokio::time::sleep_until((start + pace * e as u32).into()).await;
        }
        let stamp = clock.elapsed().as_micros();
        publish_line(&mut listener, format!("event {e} {stamp}")).await?;
    }
    let mut latencies = Vec::with_capacity(subscribers * events as usize);
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = start.elapsed();
    let server_cpu: Duration = nodes
        .iter()
        .zip(server_cpu)
        .map(|(n, before)| n.cpu_time().map(|c| c.saturating_sub(before)))
        .sum::<Result<Duration, _>>()?;
    let own_cpu = cpu_of(std::process::id())?.saturating_sub(own_cpu);
    latencies.sort();
    let deliveries = subscribers as f64 * events as f64;
    let rate = deliveries / elapsed.as_secs_f64();
    println!(
        "| {broker} | {} | {:.0} | {:?} | {:?} | {:.0}% | {:.0}% | {:.2} us |",
        nodes.len(),
        rate,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        100.0 * server_cpu.as_secs_f64() / elapsed.as_secs_f64(),
        100.0 * own_cpu.as_secs_f64() / elapsed.as_secs_f64(),
        server_cpu.as_secs_f64() * 1e6 / deliveries,
    );
    Ok(rate)
}

/// The `message` attribute of a guide event's frame, without parsing the rest.
fn message_of(text: &str) -> Option<&str> {
    let start = text.find("\"message\":\"")? + "\"message\":\"".len();
    let end = text[start..].find('"')?;
    Some(&text[start..start + end])
}

/// Kills the node a resumable subscriber is on, `kills` times; prints the time
/// from each kill to the arrival of an event published on the other node.
async fn recovery_run(url: &str, kills: usize) -> anyhow::Result<()> {
    let mut nodes = [
        ServerProcess::spawn_with("serve-guide", &["--redis", url]).await?,
        ServerProcess::spawn_with("serve-guide", &["--redis", url]).await?,
    ];
    let proxy = nagare_testkit::proxy::Proxy::start(nodes[0].addr).await;
    let policy = nagare::RetryPolicy::default()
        .initial_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(50))
        .forever();
    let mut events = chat::client::Client::new(proxy.url())
        .with_reconnect(policy)
        .subscribe()
        .await?;
    let mut recoveries = Vec::with_capacity(kills);
    let mut on = 0;
    for kill in 0..kills {
        let other = 1 - on;
        let mut listener = chat::client::Client::new(format!("http://{}", nodes[other].addr))
            .listener()
            .await?;
        // Markers until one arrives: the subscriber follows the room (on the
        // node it reconnected to, after the previous kill).
        let mut marker = 0;
        'following: loop {
            publish_line(&mut listener, format!("before {kill}.{marker}")).await?;
            marker += 1;
            let deadline = tokio::time::sleep(Duration::from_millis(20));
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    got = events.recv() => {
                        if got?.context("stream ended")?.message.starts_with(&format!("before {kill}.")) {
                            break 'following;
                        }
                    }
                    () = &mut deadline => break,
                }
            }
        }
        let dead = std::mem::replace(
            &mut nodes[on],
            ServerProcess::spawn_with("serve-guide", &["--redis", url]).await?,
        );
        // The replacement started first, so that the kill is all the test
        // measures; the proxy points at the surviving node.
        let killed_at = Instant::now();
        drop(dead);
        proxy.set_upstream(nodes[other].addr);
        publish_line(&mut listener, format!("after {kill}")).await?;
        loop {
            let got = events.recv().await?.context("stream ended")?;
            if got.message == format!("after {kill}") {
                break;
            }
        }
        recoveries.push(killed_at.elapsed());
        on = other;
    }
    recoveries.sort();
    println!(
        "recovery after a node is killed ({} kills, the subscriber resumes on the other node): p50 {:?}, p99 {:?}, max {:?}; {} reconnections",
        recoveries.len(),
        percentile(&recoveries, 0.5),
        percentile(&recoveries, 0.99),
        percentile(&recoveries, 1.0),
        events.reconnects()
    );
    Ok(())
}
