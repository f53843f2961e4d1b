//! Client side of the opening handshake.

use axum::http::{HeaderMap, Response};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{Socket, WsConfig};

/// Why a client could not open a WebSocket.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not a valid `ws://` URL.
    #[error("invalid WebSocket URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// TCP connect failed (refused, unreachable, timed out).
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The server answered the upgrade with an HTTP response other than 101.
    #[error("server refused the upgrade with HTTP {}", .0.status())]
    Refused(Box<Response<Vec<u8>>>),
    /// The handshake failed after the request was sent.
    #[error("WebSocket handshake failed: {0}")]
    Handshake(String),
}

/// Opens a WebSocket to `url` (`ws://host:port/path?query`), sending `headers` with
/// the upgrade request. Returns the socket and the 101 response's headers.
pub async fn connect(
    url: &str,
    headers: HeaderMap,
    config: WsConfig,
) -> Result<(Socket<TcpStream>, HeaderMap), ConnectError> {
    let invalid = |reason: &str| ConnectError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let mut request = url
        .into_client_request()
        .map_err(|e| invalid(&e.to_string()))?;
    let uri = request.uri().clone();
    if uri.scheme_str() != Some("ws") {
        return Err(invalid(
            "only ws:// is supported (wss:// comes with TLS support)",
        ));
    }
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let addr = format!("{host}:{port}");
    request.headers_mut().extend(headers);
    let tcp = TcpStream::connect(&addr)
        .await
        .map_err(|source| ConnectError::Connect {
            addr: addr.clone(),
            source,
        })?;
    // Small messages dominate; Nagle would delay them.
    let _ = tcp.set_nodelay(true);
    match tokio_tungstenite::client_async_with_config(request, tcp, Some(config.to_tungstenite()))
        .await
    {
        Ok((ws, response)) => Ok((Socket::new(ws), response.headers().clone())),
        Err(tungstenite::Error::Http(response)) => {
            let (parts, body) = (*response).into_parts();
            Err(ConnectError::Refused(Box::new(Response::from_parts(
                parts,
                body.unwrap_or_default(),
            ))))
        }
        Err(tungstenite::Error::Io(source)) => Err(ConnectError::Connect { addr, source }),
        Err(e) => Err(ConnectError::Handshake(e.to_string())),
    }
}
