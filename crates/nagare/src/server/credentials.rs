//! Credentials as the server reads them, where Goa puts them: the
//! `Authorization` header (scheme word stripped), basic credentials, and a
//! bearer token offered as a subprotocol by a browser; and when they expire.
//! Generated handlers call these; the client's side is in
//! `crate::client::credentials`.

use axum::http::request::Parts;
use base64::Engine;

use crate::security::BEARER_PROTOCOL_PREFIX;

/// Everything after the first space of a credential header (`Bearer x` -> `x`),
/// or the whole value when it has no space.
pub fn strip_scheme(value: &str) -> &str {
    match value.split_once(' ') {
        Some((_, rest)) => rest,
        None => value,
    }
}

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

/// When a JWT expires: its `exp` claim, read without checking the signature
/// (call it only on a token the auth hook accepted). `None` for a token
/// without `exp`, or that is not a JWT.
pub fn jwt_expiry(token: &str) -> Option<std::time::SystemTime> {
    #[derive(serde::Deserialize)]
    struct Claims {
        exp: Option<f64>,
    }
    let payload = token.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let exp = serde_json::from_slice::<Claims>(&json).ok()?.exp?;
    if !exp.is_finite() || exp < 0.0 {
        return None;
    }
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::try_from_secs_f64(exp).ok()?)
}

/// Marks the request's credentials as expiring at `at` (the earliest wins,
/// when several schemes say so): a stream upgraded from it is closed with
/// 4001 then.
pub fn expire_at(parts: &mut Parts, at: std::time::SystemTime) {
    use crate::security::CredentialsExpiry;
    let earliest = match parts.extensions.get::<CredentialsExpiry>() {
        Some(CredentialsExpiry(t)) if *t <= at => *t,
        _ => at,
    };
    parts.extensions.insert(CredentialsExpiry(earliest));
}

/// [`expire_at`] the `exp` of a JWT the auth hook accepted, if it has one.
pub fn expire_with_jwt(parts: &mut Parts, token: &str) {
    if let Some(at) = jwt_expiry(token) {
        expire_at(parts, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripping_keeps_what_follows_the_first_space() {
        assert_eq!(strip_scheme("Bearer abc"), "abc");
        assert_eq!(strip_scheme("jwt abc"), "abc");
        assert_eq!(strip_scheme("abc"), "abc");
    }

    #[test]
    fn a_jwts_expiry_is_its_exp_claim() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let token = |claims: &str| format!("{}.{}.sig", b64("{\"alg\":\"HS256\"}"), b64(claims));
        let at = |secs| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        assert_eq!(
            jwt_expiry(&token("{\"exp\":1700000000}")),
            Some(at(1_700_000_000))
        );
        assert_eq!(
            jwt_expiry(&token("{\"exp\":1700000000.5,\"x\":1}")).map(|t| t > at(1_700_000_000)),
            Some(true)
        );
        assert_eq!(jwt_expiry(&token("{\"scopes\":[]}")), None);
        assert_eq!(jwt_expiry(&token("{\"exp\":-5}")), None);
        assert_eq!(jwt_expiry("opaque-token"), None);
        // The earliest expiry wins.
        let (mut parts, _) = axum::http::Request::new(()).into_parts();
        expire_at(&mut parts, at(20));
        expire_at(&mut parts, at(10));
        expire_at(&mut parts, at(30));
        assert_eq!(
            parts.extensions.get::<crate::security::CredentialsExpiry>(),
            Some(&crate::security::CredentialsExpiry(at(10)))
        );
    }

    #[test]
    fn basic_round_trip() {
        let (parts, _) = axum::http::Request::builder()
            .header(
                "Authorization",
                crate::client::credentials::basic_header("goa", "rocks:!"),
            )
            .body(())
            .map(|r| r.into_parts())
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(
            basic_credentials(&parts),
            Some(("goa".to_owned(), "rocks:!".to_owned()))
        );
    }
}
