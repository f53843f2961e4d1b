//! `nagare-bench echo`: the guide's generated `/echo` against a bare echo
//! server on the same WebSocket crate, with the same closed-loop load; also
//! the load, round and idle-memory measurements `server-bound` uses.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{connect, payload};
use crate::process::ServerProcess;

/// The shape of an echo load: how many connections, how much in flight, how
/// big, how long. Shared by `echo` and `server-bound`.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct LoadShape {
    /// Concurrent connections.
    #[arg(long, default_value_t = 50)]
    pub(crate) connections: usize,
    /// Messages in flight per connection.
    #[arg(long, default_value_t = 4)]
    pub(crate) in_flight: usize,
    /// Size of each message on the wire, in bytes.
    #[arg(long, default_value_t = 64)]
    pub(crate) size: usize,
    /// Measured seconds per round (after one second of warm-up).
    #[arg(long, default_value_t = 5)]
    pub(crate) seconds: u64,
}

#[derive(Parser, Clone)]
pub(crate) struct EchoArgs {
    #[command(flatten)]
    pub(crate) shape: LoadShape,
    /// Rounds per server, alternating, to even out machine noise.
    #[arg(long, default_value_t = 2)]
    pub(crate) rounds: usize,
    /// Idle connections opened for the memory measurement.
    #[arg(long, default_value_t = 2000)]
    pub(crate) idle: usize,
}

pub(crate) struct Round {
    pub(crate) messages: u64,
    pub(crate) elapsed: Duration,
    pub(crate) rtts_us: Vec<u32>,
    /// Server CPU time over the whole round, warm-up included.
    pub(crate) server_cpu: Duration,
    /// Messages over the whole round, warm-up included.
    pub(crate) all_messages: u64,
}

/// [`load`] on a server process, recording its CPU time.
pub(crate) async fn load_server(
    server: &ServerProcess,
    path: &str,
    shape: &LoadShape,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<Round> {
    let cpu_before = server.cpu_time()?;
    let mut round = load(server.addr, path, shape, warmup, measure).await?;
    round.server_cpu = server.cpu_time()?.saturating_sub(cpu_before);
    Ok(round)
}

/// Closed-loop load: each connection keeps `in_flight` messages outstanding.
pub(crate) async fn load(
    addr: SocketAddr,
    path: &str,
    shape: &LoadShape,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<Round> {
    let msg = payload(shape.size);
    let start = Instant::now() + warmup;
    let end = start + measure;
    let mut tasks = Vec::new();
    for _ in 0..shape.connections {
        let ws = connect(addr, path).await?;
        let msg = msg.clone();
        let in_flight = shape.in_flight;
        tasks.push(tokio::spawn(async move {
            let (mut tx, mut rx) = ws.split();
            let mut sent: VecDeque<Instant> = VecDeque::with_capacity(in_flight);
            let mut rtts = Vec::new();
            let mut count = 0u64;
            let mut total = 0u64;
            for _ in 0..in_flight {
                tx.feed(Message::text(msg.clone())).await?;
                sent.push_back(Instant::now());
            }
            tx.flush().await?;
            while let Some(reply) = rx.next().await {
                let reply = reply?;
                if !reply.is_text() {
                    continue;
                }
                let now = Instant::now();
                let t0 = sent.pop_front().context("reply without request")?;
                total += 1;
                if now >= start && now < end {
                    count += 1;
                    rtts.push((now - t0).as_micros() as u32);
                }
                if now >= end {
                    break;
                }
                tx.send(Message::text(msg.clone())).await?;
                sent.push_back(Instant::now());
            }
            let _ = tx.send(Message::Close(None)).await;
            anyhow::Ok((count, total, rtts))
        }));
    }
    Round::gather(tasks, measure).await
}

/// What a load task reports: messages in the window, all messages, and the
/// round trips in the window in microseconds.
pub(crate) type LoadTask = tokio::task::JoinHandle<anyhow::Result<(u64, u64, Vec<u32>)>>;

impl Round {
    /// The sum of the load tasks' reports over a window of `measure`.
    pub(crate) async fn gather(tasks: Vec<LoadTask>, measure: Duration) -> anyhow::Result<Round> {
        let mut round = Round {
            messages: 0,
            elapsed: measure,
            rtts_us: Vec::new(),
            server_cpu: Duration::ZERO,
            all_messages: 0,
        };
        for t in tasks {
            let (count, total, rtts) = t.await??;
            round.messages += count;
            round.all_messages += total;
            round.rtts_us.extend(rtts);
        }
        Ok(round)
    }
}

/// Memory a server holds per idle connection.
pub(crate) struct IdleMemory {
    /// RSS growth per connection, KiB (what the machine pays, allocator slack
    /// included).
    pub(crate) rss_kib: f64,
    /// Live heap growth per connection, bytes (what the program holds).
    pub(crate) heap_bytes: f64,
}

impl std::fmt::Display for IdleMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.1} KiB RSS, {:.0} B heap",
            self.rss_kib, self.heap_bytes
        )
    }
}

impl IdleMemory {
    /// Growth between two readings, per connection.
    pub(crate) async fn since(
        server: &ServerProcess,
        rss_before: u64,
        heap_before: u64,
        n: usize,
    ) -> anyhow::Result<Self> {
        let rss = server.rss_kib()?.saturating_sub(rss_before);
        let heap = server.heap_bytes().await?.saturating_sub(heap_before);
        Ok(IdleMemory {
            rss_kib: rss as f64 / n as f64,
            heap_bytes: heap as f64 / n as f64,
        })
    }
}

/// Opens `n` connections, exchanges one message on each (so buffers are as they
/// are after real use) and measures the server's memory growth per connection.
pub(crate) async fn idle_memory(
    server: &ServerProcess,
    path: &str,
    n: usize,
    size: usize,
) -> anyhow::Result<IdleMemory> {
    let (rss_before, heap_before) = (server.rss_kib()?, server.heap_bytes().await?);
    let msg = payload(size);
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let mut ws = connect(server.addr, path).await?;
        ws.send(Message::text(msg.clone())).await?;
        match ws.next().await {
            Some(Ok(m)) if m.is_text() => {}
            other => bail!("no echo on an idle-memory connection: {other:?}"),
        }
        conns.push(ws);
    }
    let memory = IdleMemory::since(server, rss_before, heap_before, n).await?;
    drop(conns);
    Ok(memory)
}

pub(crate) fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

pub(crate) struct Summary {
    pub(crate) rate: f64,
    pub(crate) p50: u32,
    pub(crate) p99: u32,
    /// Server CPU microseconds per echoed message.
    pub(crate) cpu_us: f64,
}

pub(crate) fn summarise(rounds: &[Round]) -> Summary {
    let messages: u64 = rounds.iter().map(|r| r.messages).sum();
    let secs: f64 = rounds.iter().map(|r| r.elapsed.as_secs_f64()).sum();
    let mut all: Vec<u32> = rounds
        .iter()
        .flat_map(|r| r.rtts_us.iter().copied())
        .collect();
    all.sort_unstable();
    let cpu: f64 = rounds.iter().map(|r| r.server_cpu.as_secs_f64()).sum();
    let all_messages: u64 = rounds.iter().map(|r| r.all_messages).sum();
    Summary {
        rate: messages as f64 / secs,
        p50: percentile(&all, 0.50),
        p99: percentile(&all, 0.99),
        cpu_us: cpu * 1e6 / all_messages.max(1) as f64,
    }
}

pub(crate) async fn run(a: EchoArgs) -> anyhow::Result<()> {
    let bare = ServerProcess::spawn("serve-bare").await?;
    let guide = ServerProcess::spawn("serve-guide").await?;
    let warmup = Duration::from_secs(1);
    let measure = Duration::from_secs(a.shape.seconds);
    let (mut bare_rounds, mut guide_rounds) = (Vec::new(), Vec::new());
    for _ in 0..a.rounds {
        bare_rounds.push(load_server(&bare, "/", &a.shape, warmup, measure).await?);
        guide_rounds.push(load_server(&guide, "/echo", &a.shape, warmup, measure).await?);
    }
    let b = summarise(&bare_rounds);
    let g = summarise(&guide_rounds);
    let bare_mem = idle_memory(&bare, "/", a.idle, a.shape.size).await?;
    let guide_mem = idle_memory(&guide, "/echo", a.idle, a.shape.size).await?;
    println!(
        "echo: {} connections x {} in flight, {} B messages, {} x {} s per server",
        a.shape.connections, a.shape.in_flight, a.shape.size, a.rounds, a.shape.seconds
    );
    println!(
        "| server | msg/s | p50 | p99 | server CPU per message | memory per idle connection ({} conns) |",
        a.idle
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| bare tokio-tungstenite echo | {:.0} | {} us | {} us | {:.2} us | {} |",
        b.rate, b.p50, b.p99, b.cpu_us, bare_mem
    );
    println!(
        "| nagare guide /echo | {:.0} | {} us | {} us | {:.2} us | {} |",
        g.rate, g.p50, g.p99, g.cpu_us, guide_mem
    );
    println!(
        "throughput ratio nagare/bare: {:.3}; server CPU per message ratio: {:.3}",
        g.rate / b.rate,
        g.cpu_us / b.cpu_us
    );
    Ok(())
}
