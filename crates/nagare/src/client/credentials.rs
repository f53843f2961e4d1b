//! Credentials as the client sends them, where Goa's servers read them:
//! tokens in `Authorization` with their scheme word, basic credentials
//! encoded. Generated clients call these.

use base64::Engine;

/// The value a client sends for a token in `Authorization`: `Bearer <token>`
/// unless the token already names its scheme.
pub fn bearer(token: &str) -> String {
    if token.contains(' ') {
        token.to_owned()
    } else {
        format!("Bearer {token}")
    }
}

/// The `Authorization` value for basic credentials.
pub(crate) fn basic_header(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gets_the_bearer_scheme_unless_it_names_one() {
        assert_eq!(bearer("abc"), "Bearer abc");
        assert_eq!(bearer("Bearer abc"), "Bearer abc");
    }

    #[test]
    fn basic_credentials_are_base64_of_user_colon_password() {
        assert_eq!(basic_header("goa", "rocks"), "Basic Z29hOnJvY2tz");
    }
}
