//! Security schemes as generated servers pass them to the service's auth hooks.
//!
//! - JWT and API keys travel in `Authorization` unless the design maps them
//!   elsewhere. The server keeps everything after the first space, so `Bearer x`,
//!   `JWT x` and a bare `x` all give `x`; the client sends `Bearer x`.
//! - Browsers, which cannot set headers on a WebSocket handshake, may offer a
//!   JWT as the subprotocol [`BEARER_PROTOCOL_PREFIX`]`<token>`.
//! - Basic credentials use the standard `Authorization: Basic base64(user:pass)`.
//! - A missing required credential is `400 missing_field`, as in Goa; a refused one
//!   is whatever designed error the auth hook returns (typically 401 or 403).

/// When the credentials a stream was opened with stop being valid: a
/// request extension. Generated servers set it from the `exp` claim of a JWT
/// their auth hook accepted; a hand-written endpoint inserts it before
/// [`upgrade`](crate::server::upgrade). The stream is closed at that time
/// with [`CloseCode::CREDENTIALS_EXPIRED`](crate::CloseCode::CREDENTIALS_EXPIRED)
/// (4001, `credentials expired`): a client that comes back with fresh
/// credentials (and, on a resumable stream, its resume point) loses nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialsExpiry(pub std::time::SystemTime);

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

/// The subprotocol prefix a browser uses to send a bearer token: browsers cannot
/// set `Authorization` on a WebSocket handshake, and a token in the URL ends up in
/// logs. `new WebSocket(url, ["nagare", "nagare.bearer." + token])`.
pub const BEARER_PROTOCOL_PREFIX: &str = "nagare.bearer.";

#[cfg(test)]
mod tests {
    use super::*;

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
