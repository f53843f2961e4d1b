//! Server side of the opening handshake (RFC 6455 section 4.2) on an axum request.
//!
//! The handshake is checked before any service code runs, so a request that is not a
//! valid upgrade gets a precise HTTP error instead of a half-open socket.

use http::{header, request::Parts, HeaderMap, HeaderValue, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use super::{header_has_token, offered_protocols};
use super::{Socket, WsConfig};

/// The upgraded byte stream of a server connection.
pub(crate) type ServerIo = TokioIo<hyper::upgrade::Upgraded>;

/// Why a request cannot be upgraded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HandshakeError {
    /// The request does not ask for a WebSocket at all (a plain GET).
    #[error(
        "this endpoint only accepts WebSocket upgrade requests (missing \"Upgrade: websocket\")"
    )]
    NotUpgrade,
    /// `Connection` does not contain `upgrade`.
    #[error("the \"Connection\" header must contain \"upgrade\"")]
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Version` is absent or not 13.
    #[error("unsupported WebSocket version: \"Sec-WebSocket-Version\" must be 13")]
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` is absent or malformed.
    #[error("\"Sec-WebSocket-Key\" must be 16 bytes in base64")]
    BadKey,
    /// The upgrade is not GET.
    #[error("WebSocket upgrades must use GET")]
    NotGet,
    /// The request is HTTP/1.0, which has no upgrade (RFC 6455 asks for
    /// HTTP/1.1 or later).
    #[error("WebSocket upgrades need HTTP/1.1 (the request is {0})")]
    HttpVersion(String),
    /// The HTTP server cannot hand the connection over (e.g. HTTP/2 without
    /// extended CONNECT).
    #[error("the connection cannot be upgraded")]
    NotUpgradable,
    /// The endpoint requires a subprotocol and the client offered none it speaks.
    #[error(
        "no supported subprotocol: the client offered [{offered}], the server speaks [{supported}]"
    )]
    NoSubprotocol { offered: String, supported: String },
}

impl HandshakeError {
    /// The HTTP status answered for this error.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            HandshakeError::NotUpgrade => StatusCode::UPGRADE_REQUIRED,
            HandshakeError::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            HandshakeError::NotGet => StatusCode::METHOD_NOT_ALLOWED,
            HandshakeError::NotUpgradable => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// Headers that help the client recover (`Upgrade`, `Sec-WebSocket-Version`).
    pub(crate) fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        if matches!(
            self,
            HandshakeError::NotUpgrade | HandshakeError::UnsupportedVersion
        ) {
            h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
            h.insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
        }
        h
    }
}

/// A checked upgrade request: answer with [`Handshake::response`], then await
/// [`Handshake::into_socket`] to get the WebSocket once the 101 is sent.
#[derive(Debug)]
pub(crate) struct Handshake {
    accept_key: String,
    on_upgrade: hyper::upgrade::OnUpgrade,
    /// The subprotocol selected, if any.
    pub(crate) protocol: Option<String>,
    /// permessage-deflate was negotiated (feature `compression`).
    #[cfg(feature = "compression")]
    deflate: Option<super::Compression>,
}

/// What nagare answers to a permessage-deflate offer: no context takeover either
/// way (RFC 7692 lets the server add both), so no window is kept between messages.
#[cfg(feature = "compression")]
const DEFLATE_RESPONSE: &str =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/// Subprotocol negotiation: the first protocol of `supported` (the server's
/// preference) that the client offered. Never one the client did not offer.
fn select_protocol(offered: &[String], supported: &[String]) -> Option<String> {
    supported
        .iter()
        .find(|s| offered.iter().any(|o| o == *s))
        .cloned()
}

/// Checks the upgrade request and takes the connection hand-over from `parts`.
#[cfg(test)]
fn accept(parts: &mut Parts) -> Result<Handshake, HandshakeError> {
    accept_with(parts, &[], false)
}

/// [`accept`] with subprotocol negotiation: `supported` in preference order; when
/// `required`, a client offering none of them is refused (400).
pub(crate) fn accept_with(
    parts: &mut Parts,
    supported: &[String],
    required: bool,
) -> Result<Handshake, HandshakeError> {
    let headers = &parts.headers;
    if !header_has_token(headers, header::UPGRADE, "websocket") {
        return Err(HandshakeError::NotUpgrade);
    }
    if parts.method != http::Method::GET {
        return Err(HandshakeError::NotGet);
    }
    if parts.version < http::Version::HTTP_11 {
        return Err(HandshakeError::HttpVersion(format!("{:?}", parts.version)));
    }
    if !header_has_token(headers, header::CONNECTION, "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err(HandshakeError::UnsupportedVersion);
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(HandshakeError::BadKey)?;
    if !key_is_valid(key.as_bytes()) {
        return Err(HandshakeError::BadKey);
    }
    let offered = offered_protocols(headers);
    let protocol = select_protocol(&offered, supported);
    if protocol.is_none() && required {
        return Err(HandshakeError::NoSubprotocol {
            offered: offered.join(", "),
            supported: supported.join(", "),
        });
    }
    let accept_key = derive_accept_key(key.as_bytes());
    let on_upgrade = parts
        .extensions
        .remove::<hyper::upgrade::OnUpgrade>()
        .ok_or(HandshakeError::NotUpgradable)?;
    Ok(Handshake {
        accept_key,
        on_upgrade,
        protocol,
        #[cfg(feature = "compression")]
        deflate: None,
    })
}

/// A key is 16 random bytes in base64: 24 characters ending in `==`.
fn key_is_valid(key: &[u8]) -> bool {
    use base64::Engine;
    key.len() == 24
        && base64::engine::general_purpose::STANDARD
            .decode(key)
            .is_ok_and(|k| k.len() == 16)
}

impl Handshake {
    /// Accepts the client's permessage-deflate offer with these settings.
    #[cfg(feature = "compression")]
    pub(crate) fn accept_deflate(&mut self, compression: super::Compression) {
        self.deflate = Some(compression);
    }

    /// The `101 Switching Protocols` response, with `extra` headers (e.g. `Goa-View`).
    pub(crate) fn response<B: Default>(&self, extra: HeaderMap) -> Response<B> {
        let mut res = Response::new(B::default());
        *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = res.headers_mut();
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        if let Ok(v) = HeaderValue::from_str(&self.accept_key) {
            h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
        }
        if let Some(p) = self
            .protocol
            .as_deref()
            .and_then(|p| HeaderValue::from_str(p).ok())
        {
            h.insert(header::SEC_WEBSOCKET_PROTOCOL, p);
        }
        #[cfg(feature = "compression")]
        if self.deflate.is_some() {
            h.insert(
                header::SEC_WEBSOCKET_EXTENSIONS,
                HeaderValue::from_static(DEFLATE_RESPONSE),
            );
        }
        h.extend(extra);
        res
    }

    /// Resolves to the WebSocket once the 101 has been written; fails when the
    /// client went away during the hand-over.
    pub(crate) async fn into_socket(
        self,
        config: WsConfig,
    ) -> Result<Socket<ServerIo>, std::io::Error> {
        let upgraded = self.on_upgrade.await.map_err(std::io::Error::other)?;
        #[cfg(feature = "compression")]
        if let Some(compression) = self.deflate {
            let io = yawc::HttpStream::from(TokioIo::new(upgraded));
            let options = compression.options(config);
            return match yawc::WebSocket::from_stream_with_extensions(
                io,
                yawc::Role::Server,
                Some(DEFLATE_RESPONSE),
                options,
            ) {
                Ok(ws) => Ok(Socket::deflate(ws)),
                // The options enable compression, so yawc accepts what we agreed.
                Err(e) => Err(std::io::Error::other(format!("deflate setup failed: {e}"))),
            };
        }
        let ws = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(config.to_tungstenite()),
        )
        .await;
        Ok(Socket::new(ws))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().method("GET").uri("/echo");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(())
            .map(|r| r.into_parts().0)
            .unwrap_or_else(|_| unreachable!())
    }

    const GOOD: [(&str, &str); 4] = [
        ("Upgrade", "websocket"),
        ("Connection", "keep-alive, Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn plain_get_is_told_to_upgrade() {
        assert_eq!(
            accept(&mut parts(&[])).err(),
            Some(HandshakeError::NotUpgrade)
        );
        assert_eq!(
            HandshakeError::NotUpgrade.status(),
            StatusCode::UPGRADE_REQUIRED
        );
    }

    #[test]
    fn each_missing_header_is_named() {
        let mut h = GOOD.to_vec();
        h[1] = ("Connection", "keep-alive");
        assert_eq!(
            accept(&mut parts(&h)).err(),
            Some(HandshakeError::MissingConnectionUpgrade)
        );
        let mut h = GOOD.to_vec();
        h[2] = ("Sec-WebSocket-Version", "8");
        assert_eq!(
            accept(&mut parts(&h)).err(),
            Some(HandshakeError::UnsupportedVersion)
        );
        let mut h = GOOD.to_vec();
        h[3] = ("Sec-WebSocket-Key", "short");
        assert_eq!(accept(&mut parts(&h)).err(), Some(HandshakeError::BadKey));
    }

    #[test]
    fn subprotocols_follow_the_server_preference_among_those_offered() {
        let offered = vec!["b".to_owned(), "a".to_owned()];
        let supported = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(select_protocol(&offered, &supported).as_deref(), Some("a"));
        assert_eq!(select_protocol(&offered, &["c".to_owned()]), None);
        let mut h = GOOD.to_vec();
        h.push(("Sec-WebSocket-Protocol", "x, y"));
        let err = accept_with(&mut parts(&h), &["z".to_owned()], true).err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("no supported subprotocol: the client offered [x, y], the server speaks [z]")
        );
    }

    #[test]
    fn valid_request_without_hyper_is_not_upgradable() {
        // Outside a hyper server there is no connection to hand over.
        assert_eq!(
            accept(&mut parts(&GOOD)).err(),
            Some(HandshakeError::NotUpgradable)
        );
    }
}
