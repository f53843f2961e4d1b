//! nagare's benchmarks, one subcommand each (`nagare-bench --help`), and the
//! servers they measure (`serve-*`), each started by the benchmark in a
//! process of its own.
//!
//! Each server runs on a single-threaded runtime (pinned to CPU 0 when
//! `taskset` exists); the load generator is single-threaded too, so server and
//! client get one core each. `docs/benchmarks.md` has the method and figures.
//!
//! ```text
//! cargo build --release -p nagare-bench
//! target/release/nagare-bench echo
//! ```

mod client;
mod compression;
mod echo;
mod fan_out;
mod heap;
mod process;
mod resume;
mod rooms;
mod server_bound;
mod servers;
mod soak;
mod typed_echo;

#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs the comparison and prints the report.
    Echo(echo::EchoArgs),
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
    Compression(compression::CompressionArgs),
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

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match args.command {
        Cmd::Echo(a) => rt.block_on(echo::run(a)),
        Cmd::ServerBound(a) => rt.block_on(server_bound::run(a)),
        Cmd::ServeBare => rt.block_on(servers::serve_bare()),
        Cmd::ServeBareBatched => rt.block_on(servers::serve_bare_batched()),
        Cmd::ServeDriver {
            no_heartbeat,
            metrics,
        } => rt.block_on(servers::serve_driver(no_heartbeat, metrics)),
        Cmd::ServeBareBroadcast => rt.block_on(servers::serve_bare_broadcast()),
        Cmd::ServeTyped => rt.block_on(typed_echo::serve()),
        Cmd::ServeGuide {
            compression,
            redis,
            quick_timeouts,
        } => rt.block_on(servers::serve_guide(compression, redis, quick_timeouts)),
        Cmd::Soak(a) => rt.block_on(soak::run(a)),
        Cmd::Compression(a) => rt.block_on(compression::run(a)),
        Cmd::Resume(a) => rt.block_on(resume::run(a)),
        Cmd::Rooms(a) => rt.block_on(rooms::run(a)),
        Cmd::AutobahnEcho { addr, compression } => {
            rt.block_on(servers::autobahn_echo(addr, compression))
        }
    }
}
