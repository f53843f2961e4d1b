//! `chatter`: serves Goa's chatter example.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use chatter::auth::AuthConfig;
use chatter::service::Chatter;
use clap::Parser;

/// Serves Goa's chatter example: login, echoer, listener, summary, subscribe, history.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Key signing and verifying the HS256 tokens: at least 32 bytes, random.
    /// A random key is used when absent (tokens then die with the process).
    #[arg(long, env = "CHATTER_JWT_KEY", hide_env_values = true)]
    jwt_key: Option<String>,
    /// Accept a --jwt-key shorter than 32 bytes (Goa's example's `secret`,
    /// for interoperability tests only: such a key can be guessed).
    #[arg(long, hide = true)]
    insecure_short_jwt_key: bool,
    /// Refuse tokens without an expiry (`exp`), which Goa's example mints.
    #[arg(long)]
    require_exp: bool,
    /// User name accepted by login.
    #[arg(long, default_value = "goa")]
    user: String,
    /// Password accepted by login.
    #[arg(
        long,
        env = "CHATTER_PASSWORD",
        default_value = DEFAULT_PASSWORD,
        hide_env_values = true
    )]
    password: String,
    /// Lifetime of the tokens login hands out, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl: u64,
    /// PEM certificate chain: serve https:// and wss:// (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
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
    let key = match args.jwt_key {
        Some(k) => k.into_bytes(),
        None => {
            tracing::warn!("no --jwt-key or CHATTER_JWT_KEY: signing tokens with a random key; they will not survive a restart");
            rand::random::<[u8; 32]>().to_vec()
        }
    };
    if args.password == DEFAULT_PASSWORD {
        tracing::warn!("login accepts the default password (Goa's example's): set --password or CHATTER_PASSWORD");
    }
    let auth = AuthConfig {
        key,
        user: args.user,
        password: args.password,
        token_ttl: Duration::from_secs(args.token_ttl),
        require_exp: args.require_exp,
    };
    if let Err(e) = auth.check_key() {
        if !args.insecure_short_jwt_key {
            anyhow::bail!("{e}");
        }
        tracing::warn!("{e}; accepted because of --insecure-short-jwt-key");
    }
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
        chatter::chatter::Rooms::new(broker.clone()).reconfigured(|_, c| args.broker.configure(c));
    let app = Chatter::new(auth, rooms)
        .router(options.clone())
        // The web page at /, and the browser client it imports under /js/.
        .merge(chatter::web::router());
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
        app.merge(chatter::specs::router())
    } else {
        app
    };
    let mut listener = nagare::server::Listener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let scheme = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let tls =
                nagare::tls::server_config(cert, key).context("cannot load the TLS certificate")?;
            listener = listener.with_tls(tls);
            "https:// and wss://"
        }
        _ => "http:// and ws://",
    };
    let addr = listener.local_addr().unwrap_or(args.addr);
    tracing::info!(%addr, scheme, "chatter serving its page at /, and /login, /echoer, /listener, /summary, /subscribe, /who, /history");
    options
        .serve(listener, app, SHUTDOWN_DEADLINE)
        .await
        .context("server failed")?;
    Ok(())
}

/// The password of Goa's example, accepted unless another is set.
const DEFAULT_PASSWORD: &str = "rocks";

/// How long shutdown waits for connections to close before exiting anyway.
const SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);
