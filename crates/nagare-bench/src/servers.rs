//! The servers the benchmarks measure, each run as `nagare-bench serve-*` in
//! a process of its own: bare tokio-tungstenite echoes and fan-out, nagare's
//! driver with a raw echo, the guide, and the Autobahn echo endpoint.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::heap;

/// The buffers and limits nagare uses by default, so both servers pay the same
/// WebSocket-level costs.
pub(crate) fn ws_config() -> WebSocketConfig {
    let n = nagare::ws::WsConfig::default();
    WebSocketConfig::default()
        .read_buffer_size(n.read_buffer_size)
        .write_buffer_size(n.write_buffer_size)
        .max_write_buffer_size(n.max_write_buffer_size)
        .max_message_size(Some(n.max_message_size))
        .max_frame_size(Some(n.max_frame_size))
}

pub(crate) async fn serve_bare() -> anyhow::Result<()> {
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

/// Serves a bare echo that batches its writes: every frame already received
/// is fed before one flush, as nagare's driver writes.
pub async fn serve_bare_batched() -> anyhow::Result<()> {
    use futures_util::{FutureExt, SinkExt, StreamExt};
    let listener = crate::servers::server_listener().await?;
    loop {
        let (tcp, _) = listener.accept().await.context("accept")?;
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let Ok(mut ws) =
                tokio_tungstenite::accept_async_with_config(tcp, Some(crate::servers::ws_config()))
                    .await
            else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if (msg.is_text() || msg.is_binary()) && ws.feed(msg).await.is_err() {
                    return;
                }
                // Everything already read goes out with the same flush.
                while let Some(Some(Ok(more))) = ws.next().now_or_never() {
                    if (more.is_text() || more.is_binary()) && ws.feed(more).await.is_err() {
                        return;
                    }
                }
                if ws.flush().await.is_err() {
                    return;
                }
            }
        });
    }
}

/// Serves a bare fan-out: every text message any connection sends goes to
/// every connection through one `tokio::sync::broadcast` channel, one shared
/// frame per message; each connection feeds every message that is ready and
/// flushes once. A connection that falls 1024 messages behind is closed (and
/// the run fails: it loses messages).
pub async fn serve_bare_broadcast() -> anyhow::Result<()> {
    use futures_util::{SinkExt, StreamExt};
    use tokio::sync::broadcast::error::TryRecvError;
    use tokio_tungstenite::tungstenite::Message;
    let listener = crate::servers::server_listener().await?;
    let (tx, _) = tokio::sync::broadcast::channel::<Message>(1024);
    loop {
        let (tcp, _) = listener.accept().await.context("accept")?;
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let Ok(ws) =
                tokio_tungstenite::accept_async_with_config(tcp, Some(crate::servers::ws_config()))
                    .await
            else {
                return;
            };
            let mut rx = tx.subscribe();
            let (mut sink, mut stream) = ws.split();
            loop {
                tokio::select! {
                    msg = rx.recv() => {
                        let Ok(first) = msg else { return };
                        if sink.feed(first).await.is_err() {
                            return;
                        }
                        loop {
                            match rx.try_recv() {
                                Ok(m) => {
                                    if sink.feed(m).await.is_err() {
                                        return;
                                    }
                                }
                                Err(TryRecvError::Empty) => break,
                                Err(_) => return,
                            }
                        }
                        if sink.flush().await.is_err() {
                            return;
                        }
                    }
                    incoming = stream.next() => match incoming {
                        Some(Ok(m)) if m.is_text() => {
                            let _ = tx.send(m);
                        }
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                }
            }
        });
    }
}

pub(crate) async fn serve_guide(
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
pub(crate) async fn server_listener() -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    heap::answer_queries();
    Ok(listener)
}

/// Serves `app` as a service binary serves it: with the limits before the
/// upgrade.
pub(crate) async fn serve_app(
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
pub(crate) fn raw_echo(options: nagare::ServerOptions) -> nagare::axum::Router {
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

pub(crate) async fn serve_driver(no_heartbeat: bool, metrics: bool) -> anyhow::Result<()> {
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

pub(crate) async fn autobahn_echo(addr: SocketAddr, compression: bool) -> anyhow::Result<()> {
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
