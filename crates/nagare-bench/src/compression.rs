//! `nagare-bench compression`: memory per connection and round trips with
//! permessage-deflate, against the same guide without it.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{connect, payload};
use crate::process::ServerProcess;

#[derive(Parser, Clone)]
pub(crate) struct CompressionArgs {
    /// Connections for the memory measurement.
    #[arg(long, default_value_t = 500)]
    pub(crate) connections: usize,
    /// Size of each message on the wire before compression, in bytes.
    #[arg(long, default_value_t = 1024)]
    pub(crate) size: usize,
    /// Round trips per connection for the throughput measurement.
    #[arg(long, default_value_t = 2000)]
    pub(crate) round_trips: usize,
    /// Connections for the throughput measurement.
    #[arg(long, default_value_t = 20)]
    pub(crate) load_connections: usize,
}

/// A client offering permessage-deflate (yawc, as the server's compressed backend).
pub(crate) async fn deflate_client(addr: SocketAddr) -> anyhow::Result<yawc::WebSocket<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let url = yawc_url(addr)?;
    let options = yawc::Options::default().with_compression_level(yawc::CompressionLevel::new(1));
    Ok(yawc::WebSocket::handshake(url, tcp, options).await?)
}

pub(crate) fn yawc_url(addr: SocketAddr) -> anyhow::Result<url::Url> {
    Ok(url::Url::parse(&format!("ws://{addr}/echo"))?)
}

pub(crate) async fn run(a: CompressionArgs) -> anyhow::Result<()> {
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
