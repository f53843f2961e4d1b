//! Client side of the opening handshake.

use std::pin::Pin;
use std::task::{Context, Poll};

use http::uri::InvalidUri;
use http::{HeaderMap, Response, Uri};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::{Socket, WsConfig};

/// Why a client could not open a WebSocket.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
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
    /// The TLS handshake failed.
    #[error("TLS handshake failed")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The byte stream of a client connection: plain TCP, or TLS over it (`wss://`,
/// feature `tls`).
pub(crate) enum ClientIo {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// An in-memory pipe to a router in this process (feature `testing`).
    #[cfg(feature = "testing")]
    Memory(tokio::io::DuplexStream),
}

/// The roots a `wss://` client trusts: the given ones, or the system's when
/// none are (without the `tls` feature there is nothing to choose).
#[derive(Clone, Debug, Default)]
pub(crate) struct TlsRoots {
    #[cfg(feature = "tls")]
    pub(crate) roots: Option<std::sync::Arc<rustls::ClientConfig>>,
}

/// Opens a WebSocket to `url` (`ws://` or, with the `tls` feature, `wss://`),
/// sending `headers` with the upgrade request. Returns the socket and the 101
/// response's headers.
pub(crate) async fn connect(
    url: &str,
    headers: HeaderMap,
    config: WsConfig,
    tls: TlsRoots,
) -> Result<(Socket<ClientIo>, HeaderMap), ConnectError> {
    let invalid = |reason: &str| ConnectError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: Uri = url
        .parse()
        .map_err(|e: InvalidUri| invalid(&e.to_string()))?;
    let secure = match uri.scheme_str() {
        Some("ws") => false,
        Some("wss") if cfg!(feature = "tls") => true,
        Some("wss") => return Err(invalid("wss:// needs nagare's `tls` feature")),
        _ => return Err(invalid("the scheme must be ws:// or wss://")),
    };
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let addr = format!("{host}:{port}");
    let tcp = TcpStream::connect(&addr)
        .await
        .map_err(|source| ConnectError::Connect {
            addr: addr.clone(),
            source,
        })?;
    // Small messages dominate; Nagle would delay them.
    let _ = tcp.set_nodelay(true);
    let io = if secure {
        tls_handshake(tcp, host, &tls)
            .await
            .map_err(ConnectError::Tls)?
    } else {
        ClientIo::Plain(tcp)
    };
    super::client_handshake::handshake(io, &uri, &headers, config).await
}

#[cfg(feature = "tls")]
async fn tls_handshake(tcp: TcpStream, host: &str, tls: &TlsRoots) -> Result<ClientIo, TlsFailure> {
    let config = match &tls.roots {
        Some(c) => c.clone(),
        None => crate::tls::default_client_config()?,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let stream = crate::tls::connect(tcp, host, config).await?;
    Ok(ClientIo::Tls(Box::new(stream)))
}

#[cfg(not(feature = "tls"))]
async fn tls_handshake(
    _tcp: TcpStream,
    _host: &str,
    _tls: &TlsRoots,
) -> Result<ClientIo, TlsFailure> {
    Err("wss:// needs nagare's `tls` feature".into())
}

/// Why a TLS handshake failed.
type TlsFailure = Box<dyn std::error::Error + Send + Sync>;

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
            #[cfg(feature = "testing")]
            ClientIo::Memory(s) => Pin::new(s).poll_read(cx, buf),
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
            #[cfg(feature = "testing")]
            ClientIo::Memory(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            #[cfg(feature = "testing")]
            ClientIo::Memory(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            #[cfg(feature = "testing")]
            ClientIo::Memory(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
