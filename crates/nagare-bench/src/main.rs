//! `nagare-bench echo`: the guide's generated `/echo` against a bare echo server
//! built on the same WebSocket crate (tokio-tungstenite, same buffer sizes), in one
//! run, with the same load generator. Reports throughput, the ratio, round-trip
//! p50/p99 and each server's memory per idle connection.
//!
//! Each server runs in its own process on a single-threaded runtime (pinned to CPU
//! 0 when `taskset` exists); the load generator is single-threaded too, so server
//! and client get one core each.
//!
//! ```text
//! cargo build --release -p nagare-bench
//! target/release/nagare-bench echo
//! ```

mod fan_out;
mod heap;
mod resume;
mod rooms;
mod server_bound;
mod soak;
mod typed_echo;

#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs the comparison and prints the report.
    Echo(EchoArgs),
    /// Echo servers with the server as the bottleneck: a bare batched echo,
    /// nagare's driver and the guide, interleaved, with CPU accounting.
    ServerBound(server_bound::ServerBoundArgs),
    /// Serves the bare echo (used by `echo`).
    ServeBare,
    /// Serves a bare echo that batches its writes (used by `server-bound`).
    ServeBareBatched,
    /// Serves a bare broadcast of every text message to every connection
    /// (used by `server-bound`'s fan-out).
    ServeBareBroadcast,
    /// Serves a raw echo on nagare's connection driver at `/echo`, with the
    /// default settings unless told otherwise (used by `server-bound`).
    ServeDriver {
        /// No heartbeats (no ping, no dead-peer check): what they cost.
        #[arg(long)]
        no_heartbeat: bool,
        /// Install the Prometheus recorder, as the example binaries do: what
        /// recording the runtime's metrics costs.
        #[arg(long)]
        metrics: bool,
    },
    /// Serves the typed echo of the bench's own design at `/echo` (used by
    /// `server-bound`).
    ServeTyped,
    /// Serves the guide (used by `echo`, `compression`, `resume` and `rooms`).
    ServeGuide {
        /// Accept permessage-deflate.
        #[arg(long)]
        compression: bool,
        /// Keep the chat's room in this Redis instead of in memory.
        #[arg(long)]
        redis: Option<String>,
        /// Short timeouts (2 s writes and heads, pings every 2 s), so that
        /// misbehaving peers of a soak are reaped within seconds.
        #[arg(long)]
        quick_timeouts: bool,
    },
    /// Memory per connection and echo throughput with permessage-deflate, against
    /// the same server without it.
    Compression(CompressionArgs),
    /// The cost of numbered, resumable subscriptions against plain ones, and the
    /// time a dropped subscription takes to come back.
    Resume(resume::ResumeArgs),
    /// Connections opening and closing for a while, some misbehaving, with
    /// the server's memory and descriptors sampled: they must stay flat.
    Soak(soak::SoakArgs),
    /// Rooms on Redis: publishes per second, fan-out from two nodes against one
    /// in-memory node, recovery after a node is killed, idle memory.
    Rooms(rooms::RoomsArgs),
    /// Serves a raw echo on nagare's connection runtime at `/echo`, for the
    /// Autobahn|Testsuite fuzzingclient (text as text, binary as binary).
    AutobahnEcho {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9001")]
        addr: SocketAddr,
        /// Accept permessage-deflate from clients that offer it.
        #[arg(long)]
        compression: bool,
    },
}

/// The shape of an echo load: how many connections, how much in flight, how
/// big, how long. Shared by `echo` and `server-bound`.
#[derive(clap::Args, Clone, Debug)]
struct LoadShape {
    /// Concurrent connections.
    #[arg(long, default_value_t = 50)]
    connections: usize,
    /// Messages in flight per connection.
    #[arg(long, default_value_t = 4)]
    in_flight: usize,
    /// Size of each message on the wire, in bytes.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Measured seconds per round (after one second of warm-up).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
}

#[derive(Parser, Clone)]
struct EchoArgs {
    #[command(flatten)]
    shape: LoadShape,
    /// Rounds per server, alternating, to even out machine noise.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Idle connections opened for the memory measurement.
    #[arg(long, default_value_t = 2000)]
    idle: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match args.command {
        Cmd::Echo(a) => rt.block_on(run(a)),
        Cmd::ServerBound(a) => rt.block_on(server_bound::run(a)),
        Cmd::ServeBare => rt.block_on(serve_bare()),
        Cmd::ServeBareBatched => rt.block_on(server_bound::serve_bare_batched()),
        Cmd::ServeDriver {
            no_heartbeat,
            metrics,
        } => rt.block_on(serve_driver(no_heartbeat, metrics)),
        Cmd::ServeBareBroadcast => rt.block_on(fan_out::serve_bare_broadcast()),
        Cmd::ServeTyped => rt.block_on(typed_echo::serve()),
        Cmd::ServeGuide {
            compression,
            redis,
            quick_timeouts,
        } => rt.block_on(serve_guide(compression, redis, quick_timeouts)),
        Cmd::Soak(a) => rt.block_on(soak::run(a)),
        Cmd::Compression(a) => rt.block_on(compression_bench(a)),
        Cmd::Resume(a) => rt.block_on(resume::run(a)),
        Cmd::Rooms(a) => rt.block_on(rooms::run(a)),
        Cmd::AutobahnEcho { addr, compression } => rt.block_on(autobahn_echo(addr, compression)),
    }
}

/// CPU time (user + system) process `pid` has used so far.
fn cpu_of(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').context("stat format")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11).context("utime")?.parse::<u64>()?
        + fields.get(12).context("stime")?.parse::<u64>()?;
    // Linux reports in clock ticks of 1/100 s on every common configuration.
    Ok(Duration::from_millis(ticks * 10))
}

/// Waits until the slowest of the subscribers (`progress`: events each has
/// received) is within `window` events of event `e`, woken by `advanced`.
async fn within_window(
    progress: &[std::sync::atomic::AtomicU64],
    advanced: &mut tokio::sync::watch::Receiver<()>,
    e: u64,
    window: u64,
) -> anyhow::Result<()> {
    loop {
        let min = progress
            .iter()
            .map(|p| p.load(std::sync::atomic::Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        if min + window >= e {
            return Ok(());
        }
        advanced.changed().await.context("subscribers stopped")?;
    }
}

/// Waits until `subscribers` follow a room (each counted in `following` when
/// it sees its first marker): `true` then, `false` after a second without
/// progress, when the caller sends another marker. A marker goes to every
/// subscriber, so one a second does not flood a run with markers still being
/// delivered when it starts.
async fn all_following(
    following: &std::sync::atomic::AtomicU64,
    subscribers: usize,
    progress: &mut tokio::sync::watch::Receiver<()>,
) -> anyhow::Result<bool> {
    loop {
        if following.load(std::sync::atomic::Ordering::Relaxed) == subscribers as u64 {
            return Ok(true);
        }
        match tokio::time::timeout(Duration::from_secs(1), progress.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => bail!("subscribers stopped"),
            Err(_) => return Ok(false),
        }
    }
}

/// Sends one message on a guide listener: an event of the chat's room.
async fn publish_line(
    listener: &mut guide::chat::ListenerClientStream,
    message: String,
) -> anyhow::Result<()> {
    listener
        .send(&guide::chat::ListenerStreamingPayload { message })
        .await
        .context("publish")
}

/// The buffers and limits nagare uses by default, so both servers pay the same
/// WebSocket-level costs.
fn ws_config() -> WebSocketConfig {
    let n = nagare::ws::WsConfig::default();
    WebSocketConfig::default()
        .read_buffer_size(n.read_buffer_size)
        .write_buffer_size(n.write_buffer_size)
        .max_write_buffer_size(n.max_write_buffer_size)
        .max_message_size(Some(n.max_message_size))
        .max_frame_size(Some(n.max_frame_size))
}

async fn serve_bare() -> anyhow::Result<()> {
    let listener = server_listener().await?;
    loop {
        let (tcp, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let Ok(mut ws) =
                tokio_tungstenite::accept_async_with_config(tcp, Some(ws_config())).await
            else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                    break;
                }
            }
        });
    }
}

async fn serve_guide(
    compression: bool,
    redis: Option<String>,
    quick_timeouts: bool,
) -> anyhow::Result<()> {
    let broker = match redis {
        Some(url) => nagare::broker::RedisBroker::connect(nagare::broker::RedisConfig::new(url))
            .await?
            .shared(),
        None => nagare::MemoryBroker::new().shared(),
    };
    let listener = server_listener().await?;
    let mut options = nagare::ServerOptions::new();
    if compression {
        options.conn.compression = Some(nagare::ws::Compression::default());
    }
    if quick_timeouts {
        let quick = Duration::from_secs(2);
        options.conn.write_timeout = quick;
        options.conn.ping_interval = Some(quick);
        options.conn.pong_timeout = quick;
        options.limits.header_read_timeout = quick;
    }
    let app = guide::service::Guide::new(guide::chat::Rooms::new(broker)).router(options.clone());
    serve_app(listener, options, app).await
}

/// A child server's listener on a free loopback port: its address is the
/// first line the parent reads, and stdin answers heap queries from then on.
async fn server_listener() -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    heap::answer_queries();
    Ok(listener)
}

/// Serves `app` as a service binary serves it: with the limits before the
/// upgrade.
async fn serve_app(
    listener: TcpListener,
    mut options: nagare::ServerOptions,
    app: nagare::axum::Router,
) -> anyhow::Result<()> {
    // The bench measures connections up to the open-file limit; the cap a
    // service keeps below it would refuse the last tenth.
    options.limits.max_connections = usize::MAX;
    options
        .serve(
            nagare::server::Listener::new(listener),
            app,
            Duration::from_secs(5),
        )
        .await?;
    Ok(())
}

/// A raw echo at `/echo` on nagare's connection driver: no types, no JSON.
fn raw_echo(options: nagare::ServerOptions) -> nagare::axum::Router {
    use nagare::axum::{extract::Request, http::HeaderMap, routing::get, Router};
    Router::new().route(
        "/echo",
        get(move |req: Request| {
            let options = options.clone();
            async move {
                let (mut parts, _) = req.into_parts();
                let endpoint = options.endpoint("raw", "echo");
                nagare::server::upgrade(
                    &mut parts,
                    &options,
                    endpoint,
                    HeaderMap::new(),
                    |conn| async move {
                        let mut stream = nagare::RawStream::new(conn);
                        while let Some(data) = stream.recv().await? {
                            stream.send(data).await?;
                        }
                        Ok::<(), nagare::StreamError>(())
                    },
                )
            }
        }),
    )
}

async fn serve_driver(no_heartbeat: bool, metrics: bool) -> anyhow::Result<()> {
    let listener = server_listener().await?;
    let mut options = nagare::ServerOptions::new();
    if no_heartbeat {
        options.conn.ping_interval = None;
    }
    if metrics {
        // Kept for the life of the process; nothing scrapes it.
        let _handle = nagare::metrics::install().context("install the metrics recorder")?;
    }
    let app = raw_echo(options.clone());
    serve_app(listener, options, app).await
}

async fn autobahn_echo(addr: SocketAddr, compression: bool) -> anyhow::Result<()> {
    let mut options = nagare::ServerOptions::new();
    // Cases 9.* send messages of up to 16 MiB.
    options.conn.ws.max_message_size = 20 << 20;
    options.conn.ws.max_frame_size = 20 << 20;
    // An echoed 16 MiB message is written whole before it is flushed.
    options.conn.ws.max_write_buffer_size = 40 << 20;
    if compression {
        options.conn.compression = Some(nagare::ws::Compression::default());
    }
    let app = raw_echo(options);
    let listener = TcpListener::bind(addr).await?;
    println!("{}", listener.local_addr()?);
    nagare::axum::serve(nagare::server::nodelay(listener), app).await?;
    Ok(())
}

/// A server child process and its address.
struct ServerProcess {
    child: tokio::process::Child,
    addr: SocketAddr,
    /// Heap queries: a line out, a number back.
    queries: tokio::sync::Mutex<(
        tokio::process::ChildStdin,
        BufReader<tokio::process::ChildStdout>,
    )>,
}

impl ServerProcess {
    async fn spawn(mode: &str) -> anyhow::Result<Self> {
        Self::spawn_with(mode, &[]).await
    }

    async fn spawn_with(mode: &str, args: &[&str]) -> anyhow::Result<Self> {
        Self::spawn_build(None, mode, args).await
    }

    /// A server served by `exe`, another build of this binary (another
    /// commit's, for a before-and-after comparison), or by this one (`None`).
    async fn spawn_build(
        exe: Option<&std::path::Path>,
        mode: &str,
        args: &[&str],
    ) -> anyhow::Result<Self> {
        let exe = match exe {
            Some(exe) => exe.to_owned(),
            None => std::env::current_exe()?,
        };
        let mut cmd = if which("taskset") {
            let mut c = tokio::process::Command::new("taskset");
            c.arg("-c").arg("0").arg(exe);
            c
        } else {
            tokio::process::Command::new(exe)
        };
        let mut child = cmd
            .arg(mode)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("spawn server")?;
        let mut stdout = BufReader::new(child.stdout.take().context("server stdout")?);
        let stdin = child.stdin.take().context("server stdin")?;
        let mut line = String::new();
        stdout.read_line(&mut line).await?;
        let addr = line.trim().parse().context("server address")?;
        Ok(ServerProcess {
            child,
            addr,
            queries: tokio::sync::Mutex::new((stdin, stdout)),
        })
    }

    /// The server's live heap bytes (see [`heap`]).
    async fn heap_bytes(&self) -> anyhow::Result<u64> {
        use tokio::io::AsyncWriteExt;
        let mut q = self.queries.lock().await;
        q.0.write_all(b"heap\n").await?;
        q.0.flush().await?;
        let mut line = String::new();
        q.1.read_line(&mut line).await?;
        line.trim().parse().context("heap bytes")
    }

    /// CPU time (user + system) the server process has used so far.
    fn cpu_time(&self) -> anyhow::Result<Duration> {
        cpu_of(self.child.id().context("server pid")?)
    }

    /// Descriptors the server process has open.
    fn open_fds(&self) -> anyhow::Result<u64> {
        let pid = self.child.id().context("server pid")?;
        Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64)
    }

    /// Resident memory of the server process, in KiB.
    fn rss_kib(&self) -> anyhow::Result<u64> {
        let pid = self.child.id().context("server pid")?;
        // Under taskset the server is the child of taskset's exec: same pid.
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("VmRSS")
    }
}

fn which(cmd: &str) -> bool {
    std::process::Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A message of exactly `size` bytes on the wire for both servers: the guide's
/// JSON body, which the bare server echoes as opaque text.
fn payload(size: usize) -> String {
    let overhead = "{\"message\":\"\"}\n".len();
    format!(
        "{{\"message\":\"{}\"}}\n",
        "x".repeat(size.saturating_sub(overhead))
    )
}

struct Round {
    messages: u64,
    elapsed: Duration,
    rtts_us: Vec<u32>,
    /// Server CPU time over the whole round, warm-up included.
    server_cpu: Duration,
    /// Messages over the whole round, warm-up included.
    all_messages: u64,
}

async fn connect(
    addr: SocketAddr,
    path: &str,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{addr}{path}"),
        tcp,
        Some(ws_config()),
    )
    .await?;
    Ok(ws)
}

/// [`load`] on a server process, recording its CPU time.
async fn load_server(
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
async fn load(
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
type LoadTask = tokio::task::JoinHandle<anyhow::Result<(u64, u64, Vec<u32>)>>;

impl Round {
    /// The sum of the load tasks' reports over a window of `measure`.
    async fn gather(tasks: Vec<LoadTask>, measure: Duration) -> anyhow::Result<Round> {
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
struct IdleMemory {
    /// RSS growth per connection, KiB (what the machine pays, allocator slack
    /// included).
    rss_kib: f64,
    /// Live heap growth per connection, bytes (what the program holds).
    heap_bytes: f64,
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
    async fn since(
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
async fn idle_memory(
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

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Summary {
    rate: f64,
    p50: u32,
    p99: u32,
    /// Server CPU microseconds per echoed message.
    cpu_us: f64,
}

fn summarise(rounds: &[Round]) -> Summary {
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

async fn run(a: EchoArgs) -> anyhow::Result<()> {
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

#[derive(Parser, Clone)]
struct CompressionArgs {
    /// Connections for the memory measurement.
    #[arg(long, default_value_t = 500)]
    connections: usize,
    /// Size of each message on the wire before compression, in bytes.
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Round trips per connection for the throughput measurement.
    #[arg(long, default_value_t = 2000)]
    round_trips: usize,
    /// Connections for the throughput measurement.
    #[arg(long, default_value_t = 20)]
    load_connections: usize,
}

/// A client offering permessage-deflate (yawc, as the server's compressed backend).
async fn deflate_client(addr: SocketAddr) -> anyhow::Result<yawc::WebSocket<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let url = yawc_url(addr)?;
    let options = yawc::Options::default().with_compression_level(yawc::CompressionLevel::new(1));
    Ok(yawc::WebSocket::handshake(url, tcp, options).await?)
}

fn yawc_url(addr: SocketAddr) -> anyhow::Result<url::Url> {
    Ok(url::Url::parse(&format!("ws://{addr}/echo"))?)
}

async fn compression_bench(a: CompressionArgs) -> anyhow::Result<()> {
    let plain = ServerProcess::spawn_with("serve-guide", &[]).await?;
    let deflate = ServerProcess::spawn_with("serve-guide", &["--compression"]).await?;
    let msg = payload(a.size);

    // Memory: connections that each exchanged one message.
    let before = plain.rss_kib()?;
    let mut keep_plain = Vec::new();
    for _ in 0..a.connections {
        let mut ws = connect(plain.addr, "/echo").await?;
        ws.send(Message::text(msg.clone())).await?;
        ws.next().await.context("echo")??;
        keep_plain.push(ws);
    }
    let plain_mem = plain.rss_kib()?.saturating_sub(before) as f64 / a.connections as f64;
    let before = deflate.rss_kib()?;
    let mut keep_deflate = Vec::new();
    for _ in 0..a.connections {
        let mut ws = deflate_client(deflate.addr).await?;
        ws.send(yawc::Frame::text(msg.clone())).await?;
        ws.next().await.context("echo")?;
        keep_deflate.push(ws);
    }
    let deflate_mem = deflate.rss_kib()?.saturating_sub(before) as f64 / a.connections as f64;
    drop(keep_plain);
    drop(keep_deflate);

    // Throughput: sequential round trips on each connection, all connections at once.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.load_connections {
        let mut ws = connect(plain.addr, "/echo").await?;
        let (msg, n) = (msg.clone(), a.round_trips);
        tasks.push(tokio::spawn(async move {
            for _ in 0..n {
                ws.send(Message::text(msg.clone())).await?;
                ws.next().await.context("echo")??;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let plain_rate = (a.load_connections * a.round_trips) as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.load_connections {
        let mut ws = deflate_client(deflate.addr).await?;
        let (msg, n) = (msg.clone(), a.round_trips);
        tasks.push(tokio::spawn(async move {
            for _ in 0..n {
                ws.send(yawc::Frame::text(msg.clone())).await?;
                ws.next().await.context("echo")?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let deflate_rate =
        (a.load_connections * a.round_trips) as f64 / started.elapsed().as_secs_f64();

    println!(
        "compression: {} B messages; memory over {} connections that each echoed one message; throughput over {} connections x {} sequential round trips",
        a.size, a.connections, a.load_connections, a.round_trips
    );
    println!("| guide /echo | round trips/s | memory per connection |");
    println!("|---|---|---|");
    println!("| without compression | {plain_rate:.0} | {plain_mem:.1} KiB |");
    println!("| permessage-deflate (level 1, no context takeover) | {deflate_rate:.0} | {deflate_mem:.1} KiB |");
    Ok(())
}
