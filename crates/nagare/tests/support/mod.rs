//! Test servers for the runtime: one endpoint whose method the test supplies.

#![allow(dead_code)]

use std::future::Future;

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use nagare::{Conn, ServerOptions, StreamError};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// A router serving `method` at `/s` with `options`.
pub fn router<F, Fut>(options: ServerOptions, method: F) -> Router
where
    F: Fn(Conn) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), StreamError>> + Send + 'static,
{
    let endpoint = options.endpoint("test", "test");
    Router::new().route(
        "/s",
        get(move |req: Request| {
            let options = options.clone();
            let method = method.clone();
            async move {
                let (mut parts, _) = req.into_parts();
                nagare::server::upgrade(&mut parts, &options, endpoint, HeaderMap::new(), method)
            }
        }),
    )
}

/// Serves `method` at `/s` with `options` on a loopback port; returns the address.
pub async fn serve<F, Fut>(options: ServerOptions, method: F) -> std::net::SocketAddr
where
    F: Fn(Conn) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), StreamError>> + Send + 'static,
{
    let app = router(options, method);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(nagare::server::nodelay(listener), app).await });
    addr
}

/// Completes a WebSocket handshake on a raw socket, which then does nothing the
/// test does not make it do (no pongs, no reads).
pub async fn raw_upgrade(addr: std::net::SocketAddr) -> TcpStream {
    use nagare_testkit::wire::{go_upgrade_request, send_head};
    let (tcp, head) = send_head(addr, &go_upgrade_request(addr, "/s", "")).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp
}

/// A client connection to the endpoint at `/s`.
pub async fn dial(addr: std::net::SocketAddr) -> nagare::Conn {
    nagare::Request::new("/s".into())
        .dial(&format!("http://{addr}"), &nagare::ConnConfig::default())
        .await
        .expect("dial")
        .0
}

/// Reads until the server closes TCP; returns everything it sent.
pub async fn read_to_end(tcp: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tcp.read_to_end(&mut out).await;
    out
}

pub use nagare_testkit::bounded;
