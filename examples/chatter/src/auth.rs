//! Chatter's credentials: the login user, and the HS256 JWTs it hands out.
//!
//! Tokens carry `nbf`, `iat`, `exp` and `scopes`, like Goa's example (which signs
//! with the key `secret` and sets no expiry): with the same key, a token minted by
//! either server is accepted by the other. Tokens without `exp` are accepted, as
//! Goa's are, unless [`AuthConfig::require_exp`] says otherwise; an `exp` in the
//! past is refused, and a stream opened with a token is closed (4001) when the
//! token expires. Keys shorter than [`MIN_KEY_BYTES`] are refused by
//! [`AuthConfig::check_key`].

use std::time::Duration;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Bytes an HS256 key needs at least: the hash's 256 bits (RFC 7518, 3.2).
pub const MIN_KEY_BYTES: usize = 32;

/// The scopes every login grants.
pub const SCOPES: [&str; 2] = ["stream:read", "stream:write"];

/// Who may log in, and how tokens are signed.
#[derive(Clone)]
pub struct AuthConfig {
    /// HS256 signing key.
    pub key: Vec<u8>,
    /// The login user name.
    pub user: String,
    /// The login password.
    pub password: String,
    /// How long a token stays valid.
    pub token_ttl: Duration,
    /// Refuse tokens without `exp` (Goa's example mints them): such a
    /// token never expires, so a leaked one is good forever.
    pub require_exp: bool,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key or the password.
        f.debug_struct("AuthConfig")
            .field("user", &self.user)
            .field("token_ttl", &self.token_ttl)
            .finish_non_exhaustive()
    }
}

impl AuthConfig {
    /// Goa's example credentials (`goa`/`rocks`), a one-hour token lifetime and
    /// the given key.
    pub fn with_key(key: impl Into<Vec<u8>>) -> Self {
        AuthConfig {
            key: key.into(),
            user: "goa".into(),
            password: "rocks".into(),
            token_ttl: Duration::from_secs(3600),
            require_exp: false,
        }
    }

    /// `Ok` when the key is long enough for HS256 ([`MIN_KEY_BYTES`]); the
    /// error says how long it is and what to do.
    pub fn check_key(&self) -> Result<(), String> {
        if self.key.len() >= MIN_KEY_BYTES {
            return Ok(());
        }
        Err(format!(
            "the JWT key is {} bytes: HS256 needs at least {MIN_KEY_BYTES} (256 bits) of random key, e.g. `openssl rand -base64 32`",
            self.key.len()
        ))
    }

    /// Whether the login credentials match, compared without revealing by timing
    /// how much of them matched.
    pub fn check_login(&self, user: &str, password: &str) -> bool {
        constant_time_eq(user.as_bytes(), self.user.as_bytes())
            & constant_time_eq(password.as_bytes(), self.password.as_bytes())
    }

    /// A signed token granting every scope, valid from now for `token_ttl`.
    pub fn mint(&self) -> Result<String, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            nbf: Some(now),
            iat: Some(now),
            exp: Some(now + self.token_ttl.as_secs() as i64),
            scopes: Some(serde_json::json!(SCOPES)),
        };
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.key),
        )
    }

    /// Verifies a token and returns the scopes it grants.
    pub fn verify(&self, token: &str) -> Result<Vec<String>, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Goa's tokens have no expiry: check `exp` and `nbf` only when present,
        // unless `exp` is required.
        validation.required_spec_claims.clear();
        if self.require_exp {
            validation.required_spec_claims.insert("exp".to_owned());
        }
        validation.validate_nbf = true;
        validation.leeway = 0;
        let data = decode::<Claims>(token, &DecodingKey::from_secret(&self.key), &validation)
            .map_err(|_| TokenError::Invalid)?;
        let scopes = data.claims.scopes.ok_or(TokenError::InvalidScopes)?;
        let list = scopes.as_array().ok_or(TokenError::InvalidScopes)?;
        list.iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or(TokenError::InvalidScopes)
            })
            .collect()
    }
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Bad signature, malformed, expired or not yet valid.
    Invalid,
    /// No `scopes` claim, or not a list of strings.
    InvalidScopes,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<serde_json::Value>,
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify_with_the_same_key_only() {
        let a = AuthConfig::with_key("one");
        let token = a.mint().unwrap_or_default();
        assert_eq!(a.verify(&token), Ok(SCOPES.map(String::from).to_vec()));
        assert_eq!(
            AuthConfig::with_key("two").verify(&token),
            Err(TokenError::Invalid)
        );
        assert_eq!(a.verify("not.a.token"), Err(TokenError::Invalid));
    }

    #[test]
    fn login_compares_both_fields() {
        let a = AuthConfig::with_key("k");
        assert!(a.check_login("goa", "rocks"));
        assert!(!a.check_login("goa", "rock"));
        assert!(!a.check_login("go", "rocks"));
    }
}
