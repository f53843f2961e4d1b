//! `nagare-bench server-bound`: echo servers measured with the server as the
//! bottleneck, so a ratio says what nagare costs rather than what the load
//! generator can push.
//!
//! Each server runs in its own process on a single-threaded runtime pinned to
//! CPU 0 (`taskset`); run the bench itself on the other core
//! (`taskset -c 1 nagare-bench server-bound`), where it does as little as it
//! can per message (a text frame is counted, never parsed). Every run records
//! the server's CPU time and the generator's: a run where the server's core
//! was not saturated (the generator, or the bench's own pacing, was the
//! limit) is not server-bound, and the report refuses to call its ratio a
//! comparison.
//!
//! The floor is a bare tokio-tungstenite echo with nagare's buffer sizes
//! that batches its writes as nagare's driver does (feeds every frame that is
//! ready, then flushes once). Cases run interleaved (bare, driver, typed,
//! guide, bare, ...), and each figure is the median of the runs.

use std::time::Duration;

use anyhow::Context;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::{frame_at, payload, upgrade};
use crate::echo::{percentile, LoadShape, Round};
use crate::fan_out;
use crate::process::{cpu_of, not_server_bound, ServerProcess};

#[derive(clap::Parser, Clone, Debug)]
pub struct ServerBoundArgs {
    #[command(flatten)]
    shape: LoadShape,
    /// Runs per case, interleaved; figures are medians (at least 3). This
    /// machine's runs can move by 20% (a neighbour's load), so 5 by default.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Connections per run of the connect-rate measurement (upgrade, then a
    /// clean close), 50 at a time; 0 skips it.
    #[arg(long, default_value_t = 5000)]
    connects: usize,
    /// Another build of this binary (e.g. the commit before a change): its
    /// nagare servers run as extra cases, interleaved with this build's, so a
    /// change's before and after come from the same invocation.
    #[arg(long, value_name = "BINARY")]
    against: Option<std::path::PathBuf>,
    /// Also the cases that measure what one feature costs (heartbeats, the
    /// Prometheus recorder), beside the raw driver with both as by default.
    #[arg(long)]
    costs: bool,
    /// Only the cases whose server mode contains this (the floor always runs).
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
    /// Subscribers of one room in the fan-out case; 0 skips it.
    #[arg(long, default_value_t = 10_000)]
    subscribers: usize,
    /// Events published to them in each fan-out run.
    #[arg(long, default_value_t = 1000)]
    events: u64,
    /// How far the fan-out's publisher may run ahead of its slowest
    /// subscriber, in events (below the rooms' 1,024, or subscribers lose
    /// messages and the run fails).
    #[arg(long, default_value_t = fan_out::WINDOW, value_parser = clap::value_parser!(u64).range(1..1024))]
    window: u64,
    /// Also fan out through a Redis-backed guide (starts Debian's
    /// `redis-server` on a free loopback port).
    #[arg(long)]
    redis: bool,
    /// Idle connections per memory measurement, each size on a fresh server
    /// (the open-file limit must exceed the largest); 0 skips it.
    #[arg(long, value_delimiter = ',', default_value = "10000,19000")]
    idle: Vec<usize>,
}

/// A server under test: how it is started and where it echoes.
struct Case {
    name: &'static str,
    mode: &'static str,
    /// Flags after the mode.
    args: &'static [&'static str],
    path: &'static str,
    /// Measures what one feature costs (run with `--costs`), not a target.
    cost: bool,
}

/// A case as this invocation runs it: served by this binary or by the one
/// given with `--against`.
struct Measured {
    case: &'static Case,
    name: String,
    exe: Option<std::path::PathBuf>,
}

impl Measured {
    /// A fresh server of this case, from its build.
    async fn spawn(&self) -> anyhow::Result<ServerProcess> {
        ServerProcess::spawn_build(self.exe.as_deref(), self.case.mode, self.case.args).await
    }
}

/// The cases of this invocation: the floor first, then each selected nagare
/// case, followed by the same case on the `--against` build when there is one.
fn measured(a: &ServerBoundArgs) -> Vec<Measured> {
    selected(CASES, |c| c.mode, a)
        .into_iter()
        .filter(|(case, _)| a.costs || !case.cost)
        .map(|(case, exe)| Measured {
            case,
            name: build_name(case.name, exe.as_deref()),
            exe,
        })
        .collect()
}

/// The cases `--only` selects (the floor, first, always), each followed by
/// the same case on the `--against` build when there is one.
fn selected<'c, C>(
    cases: &'c [C],
    mode: impl Fn(&C) -> &str,
    a: &ServerBoundArgs,
) -> Vec<(&'c C, Option<std::path::PathBuf>)> {
    let mut out = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let selected = i == 0 || a.only.as_deref().is_none_or(|o| mode(case).contains(o));
        if !selected {
            continue;
        }
        out.push((case, None));
        if let (Some(exe), true) = (&a.against, i > 0) {
            out.push((case, Some(exe.clone())));
        }
    }
    out
}

/// A case's name, marked with the build that serves it when it is not this one.
fn build_name(name: &str, exe: Option<&std::path::Path>) -> String {
    match exe {
        Some(exe) => format!("{name} [{}]", exe.display()),
        None => name.to_owned(),
    }
}

const CASES: &[Case] = &[
    Case {
        name: "bare tokio-tungstenite, batched writes (floor)",
        mode: "serve-bare-batched",
        args: &[],
        path: "/",
        cost: false,
    },
    Case {
        name: "nagare connection driver, raw echo",
        mode: "serve-driver",
        args: &[],
        path: "/echo",
        cost: false,
    },
    Case {
        name: "nagare connection driver, raw echo, heartbeats off",
        mode: "serve-driver",
        args: &["--no-heartbeat"],
        path: "/echo",
        cost: true,
    },
    Case {
        name: "nagare connection driver, raw echo, Prometheus recorder installed",
        mode: "serve-driver",
        args: &["--metrics"],
        path: "/echo",
        cost: true,
    },
    Case {
        name: "typed echo (decode, validate, encode)",
        mode: "serve-typed",
        args: &[],
        path: "/echo",
        cost: false,
    },
    Case {
        name: "guide /echo (typed, validated, published)",
        mode: "serve-guide",
        args: &[],
        path: "/echo",
        cost: false,
    },
];

/// One run of one case.
struct Run {
    rate: f64,
    rtts_us: Vec<u32>,
    /// Server CPU per round trip, microseconds.
    cpu_us: f64,
    /// Fractions of one core used over the run.
    server_busy: f64,
    generator_busy: f64,
}

impl Run {
    /// Something other than the server was the limit.
    fn not_server_bound(&self) -> bool {
        not_server_bound(self.server_busy)
    }
}

pub async fn run(a: ServerBoundArgs) -> anyhow::Result<()> {
    let runs = a.runs.max(3);
    let allowed = std::fs::read_to_string("/proc/self/status")?
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    println!(
        "server-bound echo: {} connections x {} in flight, {} B messages, {} runs x {} s per case; servers on CPU 0, generator on CPUs {allowed}",
        a.shape.connections, a.shape.in_flight, a.shape.size, runs, a.shape.seconds
    );
    if allowed.split(',').any(|r| r.trim().starts_with('0')) {
        println!(
            "warning: the generator may run on CPU 0 with the server; run it under `taskset -c 1`"
        );
    }
    let cases = measured(&a);
    let mut servers = Vec::new();
    for m in &cases {
        servers.push(m.spawn().await?);
    }
    let warmup = Duration::from_secs(1);
    let measure = Duration::from_secs(a.shape.seconds);
    let mut results: Vec<Vec<Run>> = cases.iter().map(|_| Vec::new()).collect();
    let me = std::process::id();
    for _ in 0..runs {
        for (i, m) in cases.iter().enumerate() {
            let (server_before, me_before) = (servers[i].cpu_time()?, cpu_of(me)?);
            let round = raw_load(servers[i].addr, m.case.path, &a.shape, warmup, measure).await?;
            let wall = (warmup + measure).as_secs_f64();
            let server_cpu = servers[i].cpu_time()?.saturating_sub(server_before);
            let me_cpu = cpu_of(me)?.saturating_sub(me_before);
            results[i].push(Run {
                rate: round.messages as f64 / round.elapsed.as_secs_f64(),
                rtts_us: round.rtts_us,
                cpu_us: server_cpu.as_secs_f64() * 1e6 / round.all_messages.max(1) as f64,
                server_busy: server_cpu.as_secs_f64() / wall,
                generator_busy: me_cpu.as_secs_f64() / wall,
            });
        }
    }
    let floor_bound = results[0].iter().any(Run::not_server_bound);
    // This machine drifts between runs (a neighbour's load): each run is set
    // against the floor's run of the same round, and the ratios' median kept.
    println!("| server | round trips/s (median; runs) | vs floor (median of rounds) | server CPU per round trip | server CPU | generator CPU | p50 | p99 |");
    println!("|---|---|---|---|---|---|---|---|");
    for (m, runs) in cases.iter().zip(&results) {
        let rate = median(runs.iter().map(|r| r.rate));
        let mut rtts: Vec<u32> = runs
            .iter()
            .flat_map(|r| r.rtts_us.iter().copied())
            .collect();
        rtts.sort_unstable();
        let bound = runs.iter().any(Run::not_server_bound);
        let ratio = if bound || floor_bound {
            "not a comparison: server not saturated".to_owned()
        } else {
            let paired = runs.iter().zip(&results[0]).map(|(r, f)| r.rate / f.rate);
            format!("{:.2}", median(paired))
        };
        let each = each_run(runs, |r| format!("{:.0}k", r.rate / 1e3));
        println!(
            "| {} | {:.0}k ({each}) | {ratio} | {:.2} us | {:.0}% | {:.0}% | {} us | {} us |",
            m.name,
            rate / 1e3,
            median(runs.iter().map(|r| r.cpu_us)),
            100.0 * median(runs.iter().map(|r| r.server_busy)),
            100.0 * median(runs.iter().map(|r| r.generator_busy)),
            percentile(&rtts, 0.50),
            percentile(&rtts, 0.99),
        );
    }
    let any_bound = results.iter().flatten().any(Run::not_server_bound);
    if any_bound {
        println!("some runs were not server-bound (the server under 95% of its core): their ratios are not comparisons");
    }
    if a.connects > 0 {
        connect_rate(&cases, &servers, &a, runs).await?;
    }
    drop(servers);
    if a.subscribers > 0 {
        fan_out(&a, runs).await?;
    }
    if a.idle.iter().any(|&n| n > 0) {
        idle(&cases, &a).await?;
    }
    Ok(())
}

/// A fan-out server: how it is started and reached. Each nagare case is
/// compared with the floor that carries its bytes: the guide's events are
/// larger than the typed room's, and a delivery's cost is mostly the kernel's
/// per byte and per packet.
struct FanOutCase {
    name: &'static str,
    mode: &'static str,
    args: &'static [&'static str],
    path: &'static str,
    publisher: fn() -> fan_out::Publisher,
    /// What subscribers receive per event.
    bytes: fan_out::Bytes,
    needs_redis: bool,
}

impl FanOutCase {
    fn is_floor(&self) -> bool {
        self.mode == "serve-bare-broadcast"
    }
}

const FAN_OUT: &[FanOutCase] = &[
    FanOutCase {
        name: "bare tokio::sync::broadcast + tokio-tungstenite, the typed room's bytes (floor)",
        mode: "serve-bare-broadcast",
        args: &[],
        path: "/",
        publisher: || fan_out::Publisher::Bare(fan_out::Bytes::Note),
        bytes: fan_out::Bytes::Note,
        needs_redis: false,
    },
    FanOutCase {
        name: "typed room (bench design: `{message}` events, in-memory room)",
        mode: "serve-typed",
        args: &[],
        path: "/subscribe",
        publisher: || fan_out::Publisher::Typed,
        bytes: fan_out::Bytes::Note,
        needs_redis: false,
    },
    FanOutCase {
        name: "bare tokio::sync::broadcast + tokio-tungstenite, the guide's event bytes (floor)",
        mode: "serve-bare-broadcast",
        args: &[],
        path: "/",
        publisher: || fan_out::Publisher::Bare(fan_out::Bytes::GuideEvent),
        bytes: fan_out::Bytes::GuideEvent,
        needs_redis: false,
    },
    FanOutCase {
        name: "guide /subscribe, published through /listen (in-memory room)",
        mode: "serve-guide",
        args: &[],
        path: "/subscribe",
        publisher: || fan_out::Publisher::Guide,
        bytes: fan_out::Bytes::GuideEvent,
        needs_redis: false,
    },
    FanOutCase {
        name: "guide /subscribe, room on Redis (one node)",
        mode: "serve-guide",
        args: &["--redis"],
        path: "/subscribe",
        publisher: || fan_out::Publisher::Guide,
        bytes: fan_out::Bytes::GuideEvent,
        needs_redis: true,
    },
];

/// The fan-out cases `--only` selects (and `--redis` allows), each preceded
/// by the floor of its bytes, and followed by the same case on the
/// `--against` build when there is one.
fn fan_out_cases(
    a: &ServerBoundArgs,
    redis: bool,
) -> Vec<(&'static FanOutCase, Option<std::path::PathBuf>)> {
    let wanted = |c: &FanOutCase| {
        !c.is_floor()
            && (!c.needs_redis || redis)
            && a.only.as_deref().is_none_or(|o| c.mode.contains(o))
    };
    let mut out = Vec::new();
    for floor in FAN_OUT.iter().filter(|c| c.is_floor()) {
        let cases: Vec<&FanOutCase> = FAN_OUT
            .iter()
            .filter(|c| c.bytes == floor.bytes && wanted(c))
            .collect();
        if cases.is_empty() {
            continue;
        }
        out.push((floor, None));
        for case in cases {
            out.push((case, None));
            if let Some(exe) = &a.against {
                out.push((case, Some(exe.clone())));
            }
        }
    }
    out
}

/// One room to `subscribers` subscribers, each case on a fresh server per run
/// (a run's closed connections hold their ports for a minute).
async fn fan_out(a: &ServerBoundArgs, runs: usize) -> anyhow::Result<()> {
    let redis = if a.redis {
        Some(nagare_testkit::redis::RedisServer::start().await)
    } else {
        None
    };
    let cases = fan_out_cases(a, redis.is_some());
    let mut results: Vec<Vec<fan_out::FanOut>> = cases.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (i, (case, exe)) in cases.iter().enumerate() {
            let mut args: Vec<String> = case.args.iter().map(|s| s.to_string()).collect();
            if let Some(redis) = redis.as_ref().filter(|_| case.needs_redis) {
                args.push(redis.url());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let server = ServerProcess::spawn_build(exe.as_deref(), case.mode, &args).await?;
            let run = fan_out::run(
                &server,
                case.path,
                (case.publisher)(),
                a.subscribers,
                a.events,
                a.window,
            )
            .await?;
            results[i].push(run);
        }
    }
    println!();
    println!(
        "fan-out: one room, {} subscribers x {} events of a 64 B message (at most {} ahead of the slowest), {runs} runs per case; each case against the floor above it, which carries the same bytes",
        a.subscribers, a.events, a.window
    );
    println!("| server | event frame | deliveries/s (median; runs) | vs floor | server CPU per delivery | server CPU | generator CPU | p50 | p99 |");
    println!("|---|---|---|---|---|---|---|---|---|");
    // The floor of the cases that follow it.
    let mut floor: Option<(f64, bool)> = None;
    for ((case, exe), runs) in cases.iter().zip(&results) {
        let rate = median(runs.iter().map(|r| r.deliveries_per_s));
        let bound = runs.iter().any(fan_out::FanOut::not_server_bound);
        let ratio = if case.is_floor() {
            floor = Some((rate, bound));
            "1.00".to_owned()
        } else {
            match floor {
                Some((f, false)) if !bound => format!("{:.2}", rate / f),
                _ => "not a comparison: server not saturated".to_owned(),
            }
        };
        let each = each_run(runs, |r| format!("{:.2}M", r.deliveries_per_s / 1e6));
        let frame = runs.first().map_or(0, |r| r.event_frame_bytes);
        println!(
            "| {} | {frame} B | {:.2}M ({each}) | {ratio} | {:.3} us | {:.0}% | {:.0}% | {} ms | {} ms |",
            build_name(case.name, exe.as_deref()),
            rate / 1e6,
            median(runs.iter().map(|r| r.cpu_per_delivery_us)),
            100.0 * median(runs.iter().map(|r| r.server_busy)),
            100.0 * median(runs.iter().map(|r| r.generator_busy)),
            median(runs.iter().map(|r| f64::from(r.p50_us))) as u64 / 1000,
            median(runs.iter().map(|r| f64::from(r.p99_us))) as u64 / 1000,
        );
    }
    Ok(())
}

/// Memory per idle connection (after one message each) at each size of
/// `--idle`, every size on a fresh server; 100,000 connections extrapolated
/// from the slope between the two largest sizes.
async fn idle(cases: &[Measured], a: &ServerBoundArgs) -> anyhow::Result<()> {
    let mut sizes: Vec<usize> = a.idle.iter().copied().filter(|&n| n > 0).collect();
    sizes.sort_unstable();
    println!();
    println!(
        "idle memory: RSS and live heap growth per connection after one {} B message each, at {} connections; 100,000 extrapolated from the slope between the two largest",
        a.shape.size,
        sizes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" and ")
    );
    let header: Vec<String> = sizes.iter().map(|n| format!("at {n}")).collect();
    println!(
        "| server | {} | 100,000 (extrapolated RSS growth) |",
        header.join(" | ")
    );
    println!("|---|{}---|", "---|".repeat(sizes.len()));
    for m in cases {
        let mut cells = Vec::new();
        let mut growth_kib = Vec::new();
        for &n in &sizes {
            let server = m.spawn().await?;
            let mem = crate::echo::idle_memory(&server, m.case.path, n, a.shape.size).await?;
            growth_kib.push((n, mem.rss_kib * n as f64));
            cells.push(mem.to_string());
        }
        let extrapolated = match growth_kib.as_slice() {
            [.., (n1, g1), (n2, g2)] if n2 > n1 => {
                let slope = (g2 - g1) / (*n2 - *n1) as f64;
                let total = g2 + slope * (100_000usize.saturating_sub(*n2)) as f64;
                format!(
                    "{:.0} MiB ({:.2} KiB per connection at the margin)",
                    total / 1024.0,
                    slope
                )
            }
            _ => "needs two sizes".to_owned(),
        };
        println!("| {} | {} | {extrapolated} |", m.name, cells.join(" | "));
    }
    Ok(())
}

/// Connections per second, each an upgrade then a clean close (the client's
/// close frame, the server's answer, the server closing TCP), 50 at a time.
async fn connect_rate(
    cases: &[Measured],
    servers: &[ServerProcess],
    a: &ServerBoundArgs,
    runs: usize,
) -> anyhow::Result<()> {
    let me = std::process::id();
    let mut rates: Vec<Vec<(f64, f64, f64, f64)>> = cases.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (i, m) in cases.iter().enumerate() {
            let (server_before, me_before) = (servers[i].cpu_time()?, cpu_of(me)?);
            let started = Instant::now();
            let per_task = a.connects.div_ceil(50);
            let mut tasks = Vec::new();
            for _ in 0..50 {
                let (addr, path) = (servers[i].addr, m.case.path);
                tasks.push(tokio::spawn(async move {
                    for _ in 0..per_task {
                        let mut tcp = upgrade(addr, path).await?;
                        tcp.write_all(&nagare_testkit::wire::raw_frame(
                            0x88,
                            &1000u16.to_be_bytes(),
                        ))
                        .await?;
                        let mut rest = Vec::new();
                        tcp.read_to_end(&mut rest).await?;
                    }
                    anyhow::Ok(())
                }));
            }
            for t in tasks {
                t.await??;
            }
            let wall = started.elapsed().as_secs_f64();
            let n = (per_task * 50) as f64;
            let server_cpu = servers[i].cpu_time()?.saturating_sub(server_before);
            let me_cpu = cpu_of(me)?.saturating_sub(me_before);
            rates[i].push((
                n / wall,
                server_cpu.as_secs_f64() * 1e6 / n,
                server_cpu.as_secs_f64() / wall,
                me_cpu.as_secs_f64() / wall,
            ));
        }
    }
    println!();
    println!(
        "connect rate: {} connections per run (upgrade, then a clean close), 50 at a time",
        a.connects.div_ceil(50) * 50
    );
    println!("| server | connections/s (median; runs) | vs floor | server CPU per connection | server CPU | generator CPU |");
    println!("|---|---|---|---|---|---|");
    let floor = median(rates[0].iter().map(|r| r.0));
    let bound_run = |x: &(f64, f64, f64, f64)| not_server_bound(x.2);
    let floor_bound = rates[0].iter().any(bound_run);
    for (m, r) in cases.iter().zip(&rates) {
        let rate = median(r.iter().map(|x| x.0));
        let bound = floor_bound || r.iter().any(bound_run);
        let ratio = if bound {
            "not a comparison: server not saturated".to_owned()
        } else {
            format!("{:.2}", rate / floor)
        };
        let each = each_run(r, |x| format!("{:.0}", x.0));
        println!(
            "| {} | {rate:.0} ({each}) | {ratio} | {:.0} us | {:.0}% | {:.0}% |",
            m.name,
            median(r.iter().map(|x| x.1)),
            100.0 * median(r.iter().map(|x| x.2)),
            100.0 * median(r.iter().map(|x| x.3)),
        );
    }
    Ok(())
}

/// The load, as cheap per message as it can be: each connection writes
/// pre-masked frames and counts the frames that come back from their
/// headers, never parsing or unmasking a payload; replies read together are
/// answered with one write.
async fn raw_load(
    addr: SocketAddr,
    path: &str,
    shape: &LoadShape,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<Round> {
    // FIN and text, masked with a fixed key.
    let frame = nagare_testkit::wire::raw_frame(0x81, payload(shape.size).as_bytes());
    let start = Instant::now() + warmup;
    let end = start + measure;
    let mut tasks = Vec::new();
    for _ in 0..shape.connections {
        let mut tcp = upgrade(addr, path).await?;
        let frame = frame.clone();
        let in_flight = shape.in_flight;
        tasks.push(tokio::spawn(async move {
            let mut sent: VecDeque<Instant> = VecDeque::with_capacity(in_flight);
            let (mut count, mut total, mut rtts) = (0u64, 0u64, Vec::new());
            let mut out = Vec::with_capacity(frame.len() * in_flight);
            for _ in 0..in_flight {
                out.extend_from_slice(&frame);
                sent.push_back(Instant::now());
            }
            tcp.write_all(&out).await?;
            let mut buf = vec![0u8; 64 * 1024];
            let mut filled = 0usize;
            'conn: loop {
                let n = tcp.read(&mut buf[filled..]).await?;
                if n == 0 {
                    break;
                }
                filled += n;
                let now = Instant::now();
                out.clear();
                let mut at = 0;
                while let Some((len, data)) = frame_at(&buf[at..filled]) {
                    at += len;
                    if !data {
                        continue;
                    }
                    let t0 = sent.pop_front().context("a reply without a request")?;
                    total += 1;
                    if now >= start && now < end {
                        count += 1;
                        rtts.push((now - t0).as_micros() as u32);
                    }
                    if now >= end {
                        break 'conn;
                    }
                    out.extend_from_slice(&frame);
                    sent.push_back(now);
                }
                buf.copy_within(at..filled, 0);
                filled -= at;
                if filled == buf.len() {
                    buf.resize(buf.len() * 2, 0);
                }
                if !out.is_empty() {
                    tcp.write_all(&out).await?;
                }
            }
            anyhow::Ok((count, total, rtts))
        }));
    }
    Round::gather(tasks, measure).await
}

/// Each run's figure, in run order, for a table cell.
fn each_run<T>(runs: &[T], figure: impl Fn(&T) -> String) -> String {
    runs.iter().map(figure).collect::<Vec<_>>().join(", ")
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}
