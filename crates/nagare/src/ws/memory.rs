//! WebSockets that never leave the process (feature `testing`): two sockets
//! joined by an in-memory pipe, and a client's connection to a router served
//! on the other end of one, through the real HTTP upgrade.

use http::{HeaderMap, Uri};
use tokio::io::DuplexStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use super::connect::{ClientIo, ConnectError};
use super::{Socket, WsConfig};

/// Bytes each direction of a pipe holds before a writer waits: a socket's
/// worth, so flow control works as it does on a network.
const PIPE_BYTES: usize = 64 * 1024;

/// Two connected sockets: (server side, client side), no handshake.
pub(crate) async fn pair(config: WsConfig) -> (Socket<DuplexStream>, Socket<DuplexStream>) {
    let (server, client) = tokio::io::duplex(PIPE_BYTES);
    let settings = Some(config.to_tungstenite());
    let server = WebSocketStream::from_raw_socket(server, Role::Server, settings).await;
    let client = WebSocketStream::from_raw_socket(client, Role::Client, settings).await;
    (Socket::new(server), Socket::new(client))
}

/// Opens a WebSocket to `url` on `router`, served over an in-memory pipe by
/// hyper, as [`connect`](super::connect) does over TCP.
pub(crate) async fn connect(
    router: axum::Router,
    url: &str,
    headers: HeaderMap,
    config: WsConfig,
) -> Result<(Socket<ClientIo>, HeaderMap), ConnectError> {
    let uri: Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| ConnectError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    let (server, client) = tokio::io::duplex(PIPE_BYTES);
    tokio::spawn(serve(router, server));
    super::client_handshake::handshake(ClientIo::Memory(client), &uri, &headers, config).await
}

/// Serves one HTTP connection of `router` on `io`, upgrades included.
async fn serve(router: axum::Router, io: DuplexStream) {
    use tower::ServiceExt;
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
    let served = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(io), service)
        .with_upgrades()
        .await;
    if let Err(e) = served {
        tracing::debug!(error = %e, "in-memory connection ended with an error");
    }
}
