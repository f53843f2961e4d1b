//! `guide`: serves the guide example.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;

/// Serves the Goa guide's WebSocket examples (chat and monitor services).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (port 0: any free port, logged at start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Also serve the API's AsyncAPI and OpenAPI documents at /asyncapi.json
    /// and /openapi.json.
    #[arg(long)]
    specs: bool,
    #[command(flatten)]
    conn: nagare::flags::ConnFlags,
    #[command(flatten)]
    limits: nagare::flags::LimitFlags,
    #[command(flatten)]
    broker: nagare::flags::BrokerFlags,
    #[command(flatten)]
    ops: nagare::flags::OpsFlags,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    // Installed first, so the runtime's metrics are described from the first scrape.
    let metrics = nagare::metrics::install().context("cannot install the metrics recorder")?;
    let mut options = nagare::ServerOptions::new();
    args.conn.apply(&mut options.conn);
    args.limits.apply(&mut options.limits);
    args.ops.apply(&mut options);
    let broker = args
        .broker
        .connect()
        .await
        .context("cannot reach the rooms' broker")?;
    tracing::info!(?broker, "rooms");
    let rooms =
        guide::chat::Rooms::new(broker.clone()).reconfigured(|_, c| args.broker.configure(c));
    let app = guide::service::Guide::new(rooms).router(options.clone());
    // /healthz and /readyz (not ready while draining or Redis is down), and
    // Prometheus metrics at /metrics: on a listener of their own with
    // --metrics-addr, else on the public one.
    let app = app.merge(nagare::server::health::router(
        &options,
        std::slice::from_ref(&broker),
    ));
    let ops = nagare::metrics::router(metrics);
    let app = options
        .with_operators(app, ops, args.ops.metrics_addr)
        .await
        .context("cannot listen for the metrics")?;
    let app = if args.specs {
        app.merge(guide::specs::router())
    } else {
        app
    };
    let listener = nagare::server::Listener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr().unwrap_or(args.addr);
    tracing::info!(%addr, "guide serving chat (/listen, /subscribe, /echo) and monitor (/analytics)");
    options
        .serve(listener, app, SHUTDOWN_DEADLINE)
        .await
        .context("server failed")?;
    Ok(())
}

/// How long shutdown waits for connections to close before exiting anyway.
const SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);
