//! Client side of the opening handshake.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::{HeaderMap, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::Socket;

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
    /// The server upgraded without selecting any of the subprotocols offered.
    /// RFC 6455 lets a client go on without one, but the WebSocket crate fails
    /// the handshake; [`crate::Request::dial`] then dials again offering none.
    #[error("the server selected none of the subprotocols offered")]
    NoSubprotocol,
}

/// The byte stream of a client connection: plain TCP, or TLS over it (`wss://`,
/// feature `tls`).
pub enum ClientIo {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Opens a WebSocket to `url` (`ws://` or, with the `tls` feature, `wss://`),
/// sending `headers` with the upgrade request. Returns the socket and the 101
/// response's headers.
pub async fn connect(
    url: &str,
    headers: HeaderMap,
    conn: &crate::ConnConfig,
) -> Result<(Socket<ClientIo>, HeaderMap), ConnectError> {
    let config = conn.ws;
    let invalid = |reason: &str| ConnectError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let mut request = url
        .into_client_request()
        .map_err(|e| invalid(&e.to_string()))?;
    let uri = request.uri().clone();
    let secure = match uri.scheme_str() {
        Some("ws") => false,
        Some("wss") if cfg!(feature = "tls") => true,
        Some("wss") => return Err(invalid("wss:// needs nagare's `tls` feature")),
        _ => return Err(invalid("the scheme must be ws:// or wss://")),
    };
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
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
    let io = if secure {
        tls_handshake(tcp, host, conn)
            .await
            .map_err(|e| ConnectError::Handshake(format!("TLS: {e}")))?
    } else {
        ClientIo::Plain(tcp)
    };
    match tokio_tungstenite::client_async_with_config(request, io, Some(config.to_tungstenite()))
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
        Err(tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(
                tungstenite::error::SubProtocolError::NoSubProtocol,
            ),
        )) => Err(ConnectError::NoSubprotocol),
        Err(e) => Err(ConnectError::Handshake(e.to_string())),
    }
}

#[cfg(feature = "tls")]
async fn tls_handshake(
    tcp: TcpStream,
    host: &str,
    conn: &crate::ConnConfig,
) -> Result<ClientIo, String> {
    let config = match &conn.tls {
        Some(c) => c.clone(),
        None => crate::tls::default_client_config()?,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    crate::tls::connect(tcp, host, config)
        .await
        .map(|s| ClientIo::Tls(Box::new(s)))
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "tls"))]
async fn tls_handshake(
    _tcp: TcpStream,
    _host: &str,
    _conn: &crate::ConnConfig,
) -> Result<ClientIo, String> {
    Err("wss:// needs nagare's `tls` feature".into())
}

impl AsyncRead for ClientIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
