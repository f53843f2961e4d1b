//! The client's opening handshake, done here rather than by the WebSocket crate
//! (as the server's is, in `accept.rs`), for one rule: RFC 6455 (section 4.1)
//! lets a client go on when the server selects none of the subprotocols it
//! offered, and tungstenite fails such a handshake. nagare offers `nagare.v1` to
//! servers that may not speak it (Goa's), so it needs the RFC's behaviour.
//!
//! The request is written by hand, the response head parsed with `httparse`, and
//! the socket handed to the WebSocket crate with whatever the server sent after
//! the head (a server may send its first frame in the same segment as the 101).

use http::{header, HeaderMap, HeaderName, HeaderValue, Response, StatusCode, Uri};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::{client::generate_key, derive_accept_key};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use super::{ConnectError, Socket, WsConfig};

/// Largest response head accepted; a server sending more is not a WebSocket
/// server worth waiting for.
const MAX_HEAD: usize = 16 * 1024;
/// Most headers parsed in a response head.
const MAX_HEADERS: usize = 64;
/// Largest error body kept from a refused upgrade (the Goa error is far smaller).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Sends the upgrade request for `uri` with `headers` on `io` and checks the
/// answer. Returns the socket and the 101 response's headers.
pub(crate) async fn handshake<S>(
    mut io: S,
    uri: &Uri,
    headers: &HeaderMap,
    config: WsConfig,
) -> Result<(Socket<S>, HeaderMap), ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let key = generate_key();
    io.write_all(&request(uri, headers, &key))
        .await
        .map_err(io_failed)?;
    io.flush().await.map_err(io_failed)?;

    let mut buf = Vec::with_capacity(1024);
    let (status, response_headers, head_len) = loop {
        let mut chunk = [0u8; 1024];
        let n = io.read(&mut chunk).await.map_err(io_failed)?;
        if n == 0 {
            return Err(ConnectError::Handshake(
                "the server closed the connection before answering the upgrade".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(head) = parse_head(&buf)? {
            break head;
        }
        if buf.len() > MAX_HEAD {
            return Err(ConnectError::Handshake(format!(
                "response head larger than {MAX_HEAD} bytes"
            )));
        }
    };
    let rest = buf.split_off(head_len);
    if status != StatusCode::SWITCHING_PROTOCOLS {
        let body = error_body(&mut io, &response_headers, rest).await;
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = response_headers;
        return Err(ConnectError::Refused(Box::new(response)));
    }
    check_upgrade(&response_headers, &key, headers)?;
    let ws =
        WebSocketStream::from_partially_read(io, rest, Role::Client, Some(config.to_tungstenite()))
            .await;
    Ok((Socket::new(ws), response_headers))
}

fn io_failed(e: std::io::Error) -> ConnectError {
    ConnectError::Handshake(e.to_string())
}

/// The bytes of the upgrade request.
fn request(uri: &Uri, headers: &HeaderMap, key: &str) -> Vec<u8> {
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let host = match (uri.host(), uri.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    };
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(
        format!(
            "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
        )
        .as_bytes(),
    );
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The status, headers and length of the response head, once it is whole.
fn parse_head(buf: &[u8]) -> Result<Option<(StatusCode, HeaderMap, usize)>, ConnectError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut slots);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => {
            return Err(ConnectError::Handshake(format!(
                "invalid HTTP response: {e}"
            )))
        }
    };
    let status = response
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| ConnectError::Handshake("invalid HTTP status".into()))?;
    let mut headers = HeaderMap::new();
    for h in response.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_bytes(h.value),
        ) else {
            return Err(ConnectError::Handshake(format!(
                "invalid response header {:?}",
                h.name
            )));
        };
        headers.append(name, value);
    }
    Ok(Some((status, headers, len)))
}

/// The body of a refused upgrade, as far as `Content-Length` says (at most
/// `MAX_ERROR_BODY`); what cannot be read is left out, the status is what counts.
async fn error_body<S: AsyncRead + Unpin>(
    io: &mut S,
    headers: &HeaderMap,
    mut body: Vec<u8>,
) -> Vec<u8> {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_ERROR_BODY);
    while body.len() < length {
        let mut chunk = [0u8; 1024];
        match io.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    body.truncate(length);
    body
}

/// A response to an upgrade offering nothing, read as [`handshake`] reads one:
/// `Ok(true)` for an accepted 101, `Ok(false)` for another status or an
/// incomplete head (for fuzzing: the parser must never panic).
pub(crate) fn check_response(bytes: &[u8]) -> Result<bool, String> {
    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    match parse_head(bytes).map_err(|e| e.to_string())? {
        Some((StatusCode::SWITCHING_PROTOCOLS, headers, _)) => {
            check_upgrade(&headers, KEY, &HeaderMap::new()).map_err(|e| e.to_string())?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// RFC 6455 section 4.1: the 101 must upgrade to websocket, prove it read our
/// key, and select no subprotocol or extension we did not offer (selecting no
/// subprotocol is fine).
fn check_upgrade(response: &HeaderMap, key: &str, request: &HeaderMap) -> Result<(), ConnectError> {
    let has_token = |name, token| super::header_has_token(response, name, token);
    if !has_token(header::UPGRADE, "websocket") {
        return Err(ConnectError::Handshake(
            "the 101 response does not upgrade to websocket".into(),
        ));
    }
    if !has_token(header::CONNECTION, "upgrade") {
        return Err(ConnectError::Handshake(
            "the 101 response lacks Connection: Upgrade".into(),
        ));
    }
    let expected = derive_accept_key(key.as_bytes());
    if response
        .get(header::SEC_WEBSOCKET_ACCEPT)
        .is_none_or(|v| v.as_bytes() != expected.as_bytes())
    {
        return Err(ConnectError::Handshake(
            "Sec-WebSocket-Accept does not match the key sent".into(),
        ));
    }
    // nagare's client offers no extension, so the server may select none.
    if response
        .get_all(header::SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .any(|v| !v.as_bytes().trim_ascii().is_empty())
    {
        return Err(ConnectError::Handshake(
            "the server selected an extension, but none was offered".into(),
        ));
    }
    if let Some(selected) = response.get(header::SEC_WEBSOCKET_PROTOCOL) {
        let offered = super::offered_protocols(request);
        let selected = selected.to_str().unwrap_or_default();
        if !offered.iter().any(|p| p == selected) {
            return Err(ConnectError::Handshake(format!(
                "the server selected subprotocol {selected:?}, which was not offered"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(key: &str, extra: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(
            header::SEC_WEBSOCKET_ACCEPT,
            HeaderValue::from_str(&derive_accept_key(key.as_bytes())).expect("value"),
        );
        for (k, v) in extra {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn subprotocols_follow_rfc_6455() {
        let mut offered = HeaderMap::new();
        offered.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("nagare.v1, nagare.resume.e.4"),
        );
        // None selected: fine.
        assert!(check_upgrade(&accepted("k", &[]), "k", &offered).is_ok());
        // One offered: fine.
        let ok = accepted("k", &[("sec-websocket-protocol", "nagare.v1")]);
        assert!(check_upgrade(&ok, "k", &offered).is_ok());
        // One not offered: fail.
        let bad = accepted("k", &[("sec-websocket-protocol", "chat")]);
        assert!(check_upgrade(&bad, "k", &offered).is_err());
        // Selected while none was offered: fail.
        assert!(check_upgrade(&ok, "k", &HeaderMap::new()).is_err());
        // A wrong accept key: fail.
        assert!(check_upgrade(&accepted("other", &[]), "k", &offered).is_err());
        // An extension that was not offered: fail.
        let deflate = accepted("k", &[("sec-websocket-extensions", "permessage-deflate")]);
        assert!(check_upgrade(&deflate, "k", &offered).is_err());
    }

    #[test]
    fn heads_parse_once_complete() {
        let head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi";
        assert!(matches!(parse_head(&head[..20]), Ok(None)));
        let Ok(Some((status, headers, len))) = parse_head(head) else {
            panic!("complete head expected")
        };
        assert_eq!(status, StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(
            headers.get("upgrade").map(|v| v.as_bytes()),
            Some(&b"websocket"[..])
        );
        assert_eq!(&head[len..], b"\x81\x02hi");
        assert!(parse_head(b"NOT HTTP\r\n\r\n").is_err());
    }

    #[test]
    fn the_request_carries_the_target_host_key_and_headers() {
        let uri: Uri = "ws://127.0.0.1:8080/subscribe?view=tiny"
            .parse()
            .expect("uri");
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer t"));
        let text = String::from_utf8(request(&uri, &h, "KEY")).expect("utf8");
        assert!(text.starts_with("GET /subscribe?view=tiny HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        assert!(text.contains("Sec-WebSocket-Key: KEY\r\n"));
        assert!(text.contains("authorization: Bearer t\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }
}
