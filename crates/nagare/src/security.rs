//! Security schemes as generated servers pass them to the service's auth hooks,
//! and the credential encodings Goa uses on the wire.
//!
//! - JWT and API keys travel in `Authorization` unless the design maps them
//!   elsewhere. The server keeps everything after the first space, so `Bearer x`,
//!   `JWT x` and a bare `x` all give `x`; the client sends `Bearer x`.
//! - Basic credentials use the standard `Authorization: Basic base64(user:pass)`.
//! - A missing required credential is `400 missing_field`, as in Goa; a refused one
//!   is whatever designed error the auth hook returns (typically 401 or 403).

use axum::http::request::Parts;
use base64::Engine;

/// An HTTP basic authentication scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicScheme {
    /// Name in the design.
    pub name: &'static str,
}

/// A JWT scheme, with the scopes the method being called requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JwtScheme {
    /// Name in the design.
    pub name: &'static str,
    /// Every scope the scheme defines.
    pub scopes: &'static [&'static str],
    /// The scopes this method requires.
    pub required_scopes: &'static [&'static str],
}

impl JwtScheme {
    /// Checks that `granted` holds every required scope; the error is Goa's
    /// wording, `missing scopes: a, b`.
    pub fn validate_scopes<S: AsRef<str>>(&self, granted: &[S]) -> Result<(), String> {
        let missing: Vec<&str> = self
            .required_scopes
            .iter()
            .copied()
            .filter(|r| !granted.iter().any(|g| g.as_ref() == *r))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("missing scopes: {}", missing.join(", ")))
        }
    }
}

/// An API-key scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiKeyScheme {
    /// Name in the design.
    pub name: &'static str,
}

/// Everything after the first space of a credential header (`Bearer x` -> `x`),
/// or the whole value when it has no space.
pub fn strip_scheme(value: &str) -> &str {
    match value.split_once(' ') {
        Some((_, rest)) => rest,
        None => value,
    }
}

/// The value a client sends for a token in `Authorization`: `Bearer <token>`
/// unless the token already names its scheme.
pub fn bearer(token: &str) -> String {
    if token.contains(' ') {
        token.to_owned()
    } else {
        format!("Bearer {token}")
    }
}

/// The subprotocol prefix a browser uses to send a bearer token: browsers cannot
/// set `Authorization` on a WebSocket handshake, and a token in the URL ends up in
/// logs. `new WebSocket(url, ["nagare", "nagare.bearer." + token])`.
pub const BEARER_PROTOCOL_PREFIX: &str = "nagare.bearer.";

/// Moves a bearer token offered as a subprotocol (`nagare.bearer.<token>`) into
/// `Authorization: Bearer <token>`, unless that header is already set. The token is
/// removed from the offered protocols, so it is never echoed back.
pub fn token_from_subprotocol(parts: &mut Parts) {
    use axum::http::{header, HeaderValue};
    let offered = crate::ws::offered_protocols(&parts.headers);
    let Some(token) = offered
        .iter()
        .find_map(|p| p.strip_prefix(BEARER_PROTOCOL_PREFIX))
        .map(str::to_owned)
    else {
        return;
    };
    let rest: Vec<&str> = offered
        .iter()
        .filter(|p| !p.starts_with(BEARER_PROTOCOL_PREFIX))
        .map(String::as_str)
        .collect();
    parts.headers.remove(header::SEC_WEBSOCKET_PROTOCOL);
    if !rest.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&rest.join(", ")) {
            parts.headers.insert(header::SEC_WEBSOCKET_PROTOCOL, v);
        }
    }
    if !parts.headers.contains_key(header::AUTHORIZATION) {
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
            parts.headers.insert(header::AUTHORIZATION, v);
        }
    }
}

/// User name and password of an `Authorization: Basic` header, if present and
/// well formed.
pub fn basic_credentials(parts: &Parts) -> Option<(String, String)> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The `Authorization` value for basic credentials.
pub fn basic_header(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripping_keeps_what_follows_the_first_space() {
        assert_eq!(strip_scheme("Bearer abc"), "abc");
        assert_eq!(strip_scheme("jwt abc"), "abc");
        assert_eq!(strip_scheme("abc"), "abc");
        assert_eq!(bearer("abc"), "Bearer abc");
        assert_eq!(bearer("Bearer abc"), "Bearer abc");
    }

    #[test]
    fn basic_round_trip() {
        let (parts, _) = axum::http::Request::builder()
            .header("Authorization", basic_header("goa", "rocks:!"))
            .body(())
            .map(|r| r.into_parts())
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(
            basic_credentials(&parts),
            Some(("goa".to_owned(), "rocks:!".to_owned()))
        );
    }

    #[test]
    fn scopes_are_checked_with_goa_wording() {
        let s = JwtScheme {
            name: "jwt",
            scopes: &["stream:read", "stream:write"],
            required_scopes: &["stream:write"],
        };
        assert!(s.validate_scopes(&["stream:read", "stream:write"]).is_ok());
        assert_eq!(
            s.validate_scopes(&["stream:read"]),
            Err("missing scopes: stream:write".to_owned())
        );
    }
}
