//! `nagare-bench soak`: connections opening and closing without end, messages
//! flowing, a fraction of peers misbehaving, for a set time; the server's
//! memory and open descriptors sampled along the way.
//!
//! The server is the guide (`serve-guide --quick-timeouts`: 2 s write and head
//! timeouts, pings every 2 s, so misbehaving peers are reaped within seconds),
//! served by `ServerOptions::serve` with its limits. The load, from this
//! process:
//!
//! - `clients` loops, each opening an `/echo` connection, echoing `messages`
//!   messages and checking every echo, then closing cleanly; a fraction
//!   `misbehaving` of the connections instead drop mid-stream, stall (stop
//!   reading while sending), send garbage frames, send half a request head
//!   and vanish, or hold an idle socket;
//! - `subscribers` nagare.v1 subscribers following the chat's room (every echo
//!   is an event), checking that the numbers never skip.
//!
//! Every `sample` seconds: the server's RSS, open descriptors, connections
//! done, echoes checked, misbehaviours. Afterwards, the growth of RSS and
//! descriptors since the end of the warm-up (the first quarter of the run):
//! the verdict is whether both are flat and no well-behaved client lost a
//! message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use guide::chat;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::process::ServerProcess;

#[derive(clap::Parser, Clone, Debug)]
pub struct SoakArgs {
    /// Seconds to run.
    #[arg(long, default_value_t = 120)]
    seconds: u64,
    /// Concurrent client loops.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Messages each well-behaved connection echoes before closing.
    #[arg(long, default_value_t = 20)]
    messages: usize,
    /// Fraction of connections that misbehave.
    #[arg(long, default_value_t = 0.2)]
    misbehaving: f64,
    /// Subscribers following the chat's room throughout.
    #[arg(long, default_value_t = 5)]
    subscribers: usize,
    /// Seconds between two samples.
    #[arg(long, default_value_t = 10)]
    sample: u64,
}

/// What happened, counted by every loop.
#[derive(Default)]
struct Counts {
    connections: AtomicU64,
    echoes: AtomicU64,
    misbehaved: AtomicU64,
    /// A well-behaved exchange that failed: a lost or wrong message.
    lost: AtomicU64,
    events: AtomicU64,
}

/// One sample of the server.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: u64,
}

/// What a soak found.
#[derive(Debug)]
pub struct Verdict {
    /// RSS at the last sample under load, less at the end of the warm-up.
    pub rss_growth_kib: i64,
    /// The same for open descriptors.
    pub fd_growth: i64,
    /// Descriptors still open once the load is gone, beyond those before it.
    pub fds_left: i64,
    pub lost: u64,
    pub connections: u64,
    pub echoes: u64,
    pub events: u64,
    pub misbehaved: u64,
}

impl Verdict {
    /// Flat memory (under 8 MiB of RSS growth after the warm-up) and
    /// descriptors (within 32 under load, back within 4 of where they started
    /// once the load is gone), and nothing lost.
    pub fn passed(&self) -> bool {
        self.rss_growth_kib < 8 * 1024
            && self.fd_growth.abs() <= 32
            && self.fds_left <= 4
            && self.lost == 0
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} connections ({} misbehaving), {} echoes checked, {} events followed, {} lost; after the warm-up RSS grew {} KiB and descriptors {}; {} descriptors left after the load: {}",
            self.connections,
            self.misbehaved,
            self.echoes,
            self.events,
            self.lost,
            self.rss_growth_kib,
            self.fd_growth,
            self.fds_left,
            if self.passed() { "flat, nothing lost" } else { "FAILED" }
        )
    }
}

pub async fn run(a: SoakArgs) -> anyhow::Result<()> {
    let verdict = soak(a).await?;
    println!("{verdict}");
    if !verdict.passed() {
        bail!("the soak failed: {verdict:?}");
    }
    Ok(())
}

async fn soak(a: SoakArgs) -> anyhow::Result<Verdict> {
    let server = ServerProcess::spawn_with("serve-guide", &["--quick-timeouts"]).await?;
    let addr = server.addr;
    let fds_before = server.open_fds()?;
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    let end = start + Duration::from_secs(a.seconds);
    let mut tasks = Vec::new();
    for i in 0..a.subscribers {
        tasks.push(tokio::spawn(subscriber(addr, end, counts.clone(), i)));
    }
    for i in 0..a.clients {
        tasks.push(tokio::spawn(client_loop(
            addr,
            end,
            counts.clone(),
            a.messages,
            a.misbehaving,
            i as u64,
        )));
    }
    println!(
        "soak: {} s, {} clients ({:.0}% misbehaving), {} subscribers",
        a.seconds,
        a.clients,
        a.misbehaving * 100.0,
        a.subscribers
    );
    println!("| t | RSS | fds | connections | echoes | events | misbehaved | lost |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut samples = Vec::new();
    let every = Duration::from_secs(a.sample.max(1));
    let mut next = start + every;
    while Instant::now() < end {
        tokio::time::sleep_until(next.min(end).into()).await;
        next += every;
        let s = Sample {
            at: start.elapsed(),
            rss_kib: server.rss_kib()?,
            fds: server.open_fds()?,
        };
        samples.push(s);
        println!(
            "| {:>4.0} s | {} KiB | {} | {} | {} | {} | {} | {} |",
            s.at.as_secs_f64(),
            s.rss_kib,
            s.fds,
            counts.connections.load(Ordering::Relaxed),
            counts.echoes.load(Ordering::Relaxed),
            counts.events.load(Ordering::Relaxed),
            counts.misbehaved.load(Ordering::Relaxed),
            counts.lost.load(Ordering::Relaxed),
        );
    }
    for t in tasks {
        t.await.context("a load task")??;
    }
    // Misbehaving peers are reaped by the server's timeouts: let them go.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let last = Sample {
        at: start.elapsed(),
        rss_kib: server.rss_kib()?,
        fds: server.open_fds()?,
    };
    let loaded = samples.last().copied().unwrap_or(last);
    let warm = samples
        .iter()
        .find(|s| s.at >= Duration::from_secs(a.seconds) / 4)
        .copied()
        .unwrap_or(loaded);
    println!("| after | {} KiB | {} | | | | | |", last.rss_kib, last.fds);
    Ok(Verdict {
        rss_growth_kib: loaded.rss_kib as i64 - warm.rss_kib as i64,
        fd_growth: loaded.fds as i64 - warm.fds as i64,
        fds_left: last.fds as i64 - fds_before as i64,
        lost: counts.lost.load(Ordering::Relaxed),
        connections: counts.connections.load(Ordering::Relaxed),
        echoes: counts.echoes.load(Ordering::Relaxed),
        events: counts.events.load(Ordering::Relaxed),
        misbehaved: counts.misbehaved.load(Ordering::Relaxed),
    })
}

/// A small deterministic generator: which connections misbehave, and how.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }
}

async fn client_loop(
    addr: std::net::SocketAddr,
    end: Instant,
    counts: Arc<Counts>,
    messages: usize,
    misbehaving: f64,
    seed: u64,
) -> anyhow::Result<()> {
    let mut dice = Dice(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut n = 0u64;
    while Instant::now() < end {
        n += 1;
        counts.connections.fetch_add(1, Ordering::Relaxed);
        if dice.chance(misbehaving) {
            misbehave(addr, dice.next() % 5).await;
            counts.misbehaved.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        match well_behaved(addr, messages, seed, n, &counts).await {
            Ok(()) => {}
            // Refused at the door (503 at the limits) is not a loss.
            Err(e) if e.to_string().contains("503") => {}
            Err(e) => {
                tracing_lost(&e);
                counts.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    Ok(())
}

fn tracing_lost(e: &anyhow::Error) {
    eprintln!("a well-behaved exchange failed: {e:#}");
}

async fn well_behaved(
    addr: std::net::SocketAddr,
    messages: usize,
    seed: u64,
    n: u64,
    counts: &Counts,
) -> anyhow::Result<()> {
    let mut ws = crate::client::connect(addr, "/echo").await?;
    for i in 0..messages {
        let text = format!("{{\"message\":\"{seed}.{n}.{i}\"}}");
        ws.send(Message::text(text.clone())).await?;
        let echo = loop {
            match ws.next().await.context("the echo stream ended")?? {
                Message::Text(t) => break t,
                Message::Ping(_) | Message::Pong(_) => continue,
                other => bail!("unexpected {other:?}"),
            }
        };
        if echo.as_str().trim_end() != text {
            bail!("echo {echo:?} for {text:?}");
        }
        counts.echoes.fetch_add(1, Ordering::Relaxed);
    }
    ws.close(None).await?;
    // The server's close echo.
    while let Some(Ok(_)) = ws.next().await {}
    Ok(())
}

/// One misbehaving connection, of kind `how`.
async fn misbehave(addr: std::net::SocketAddr, how: u64) {
    match how {
        // Drops the TCP connection mid-stream, without a close.
        0 => {
            if let Ok(mut ws) = crate::client::connect(addr, "/echo").await {
                let _ = ws.send(Message::text("{\"message\":\"bye\"}")).await;
            }
        }
        // Stalls: sends without reading, then vanishes after a while.
        1 => {
            if let Ok(mut ws) = crate::client::connect(addr, "/echo").await {
                for _ in 0..200 {
                    if ws
                        .send(Message::text("{\"message\":\"stall\"}"))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        // Garbage: an unmasked frame after a valid upgrade.
        2 => {
            if let Ok(ws) = crate::client::connect(addr, "/echo").await {
                let mut tcp = ws.into_inner();
                let _ = tcp.write_all(&[0x81, 0x02, b'h', b'i']).await;
                let mut buf = [0u8; 256];
                let _ = tokio::time::timeout(
                    Duration::from_secs(2),
                    tokio::io::AsyncReadExt::read(&mut tcp, &mut buf),
                )
                .await;
            }
        }
        // Half a request head, then gone.
        3 => {
            if let Ok(mut tcp) = TcpStream::connect(addr).await {
                let _ = tcp.write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n").await;
            }
        }
        // An idle socket, held a moment.
        _ => {
            if let Ok(_tcp) = TcpStream::connect(addr).await {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// A nagare.v1 subscriber of the chat's room: the client checks that numbers
/// never skip (a gap is an error); it resubscribes only if the room's history
/// overtakes it, which is counted as a loss.
async fn subscriber(
    addr: std::net::SocketAddr,
    end: Instant,
    counts: Arc<Counts>,
    _i: usize,
) -> anyhow::Result<()> {
    let client = chat::client::Client::new(format!("http://{addr}"));
    let mut events = client.subscribe().await?;
    loop {
        let next = tokio::time::timeout_at(end.into(), events.recv()).await;
        match next {
            Err(_) => return Ok(()),
            Ok(Ok(Some(_))) => {
                counts.events.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(e)) => {
                eprintln!("a subscriber failed: {e}");
                counts.lost.fetch_add(1, Ordering::Relaxed);
                events = client.subscribe().await?;
            }
        }
    }
}
