//! Which browser origins may open a WebSocket.
//!
//! Browsers send `Origin` with every WebSocket handshake and let any page connect to
//! any server, so the server must refuse pages it does not trust (cross-site
//! WebSocket hijacking). Clients that are not browsers (Go's, nagare's, curl) send
//! no `Origin` and are not affected.

use axum::http::{header, request::Parts};

/// The origins allowed to upgrade.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum OriginPolicy {
    /// Only pages served by this host (`Origin`'s host and port equal `Host`), as
    /// gorilla/websocket does by default.
    #[default]
    SameOrigin,
    /// Any origin: for public APIs that authenticate every request another way.
    Any,
    /// These origins: exact (`https://app.example.com`) or a wildcard subdomain
    /// (`https://*.example.com`, which does not match `https://example.com`).
    Allow(Vec<String>),
}

impl OriginPolicy {
    /// Whether a request with these headers may upgrade; `Err` names the refused
    /// origin.
    pub fn check(&self, parts: &Parts) -> Result<(), String> {
        let Some(origin) = parts.headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin.to_str().map_err(|_| "<not text>".to_owned())?;
        let allowed = match self {
            OriginPolicy::Any => true,
            OriginPolicy::SameOrigin => {
                let host = parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .or_else(|| parts.uri.authority().map(|a| a.as_str()));
                let origin_host = origin.split_once("://").map(|(_, rest)| rest);
                matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
            }
            OriginPolicy::Allow(list) => {
                list.iter().any(|pattern| matches_pattern(pattern, origin))
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(origin.to_owned())
        }
    }
}

fn matches_pattern(pattern: &str, origin: &str) -> bool {
    match pattern.split_once("://*.") {
        Some((scheme, domain)) => origin
            .strip_prefix(scheme)
            .and_then(|rest| rest.strip_prefix("://"))
            .is_some_and(|host| {
                host.len() > domain.len() + 1
                    && host
                        .to_ascii_lowercase()
                        .ends_with(&format!(".{}", domain.to_ascii_lowercase()))
            }),
        None => pattern.eq_ignore_ascii_case(origin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(origin: Option<&str>, host: &str) -> Parts {
        let mut b = axum::http::Request::builder().header("Host", host);
        if let Some(o) = origin {
            b = b.header("Origin", o);
        }
        b.body(())
            .map(|r| r.into_parts().0)
            .unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn same_origin_by_default_and_no_origin_is_fine() {
        let p = OriginPolicy::default();
        assert!(p.check(&parts(None, "api.example.com")).is_ok());
        assert!(p
            .check(&parts(Some("https://api.example.com"), "api.example.com"))
            .is_ok());
        assert_eq!(
            p.check(&parts(Some("https://evil.example"), "api.example.com")),
            Err("https://evil.example".to_owned())
        );
    }

    #[test]
    fn exact_and_wildcard_lists() {
        let p = OriginPolicy::Allow(vec![
            "https://app.example.com".into(),
            "https://*.example.org".into(),
        ]);
        let host = "api";
        assert!(p
            .check(&parts(Some("https://app.example.com"), host))
            .is_ok());
        assert!(p
            .check(&parts(Some("https://a.b.example.org"), host))
            .is_ok());
        assert!(p.check(&parts(Some("https://example.org"), host)).is_err());
        assert!(p.check(&parts(Some("http://a.example.org"), host)).is_err());
        assert!(p
            .check(&parts(Some("https://badexample.org"), host))
            .is_err());
        assert!(OriginPolicy::Any
            .check(&parts(Some("https://x"), host))
            .is_ok());
    }
}
