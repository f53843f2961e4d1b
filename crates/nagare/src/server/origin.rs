//! Which browser origins may open a WebSocket.
//!
//! Browsers send `Origin` with every WebSocket handshake and let any page connect to
//! any server, so the server must refuse pages it does not trust (cross-site
//! WebSocket hijacking). Clients that are not browsers (Go's, nagare's, curl) send
//! no `Origin` and are not affected.
//!
//! The server's own pages are recognised by their origin alone, scheme and port
//! included, never by the `Host` header: a page that a rebound DNS name points at
//! the server sends `Host: evil.example` and `Origin: http://evil.example`, which
//! agree with each other and say nothing about the server.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use axum::http::{header, request::Parts};

use crate::conn::OriginPolicy;

/// A web origin: scheme, host and port (`https://chat.example.com`, whose
/// port is 443). Parsed from what operators write and browsers send; compared
/// whole.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// An origin of `scheme` (`http` or `https`), `host` and `port`.
    pub fn new(scheme: &str, host: &str, port: u16) -> Self {
        Origin {
            scheme: scheme.to_ascii_lowercase(),
            host: host.to_ascii_lowercase(),
            port,
        }
    }

    /// The loopback origins of a server listening on `port`: what a browser
    /// on the same machine sends.
    pub fn loopback(port: u16, tls: bool) -> Vec<Origin> {
        let scheme = if tls { "https" } else { "http" };
        ["localhost", "127.0.0.1", "[::1]"]
            .into_iter()
            .map(|host| Origin::new(scheme, host, port))
            .collect()
    }

    /// Whether the port is the scheme's default (then left out of `Host`).
    fn has_default_port(&self) -> bool {
        matches!(
            (self.scheme.as_str(), self.port),
            ("http", 80) | ("https", 443)
        )
    }

    /// Whether the host is a loopback name or address.
    fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl FromStr for Origin {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let url = url::Url::parse(s.trim()).map_err(|e| format!("{s:?} is not an origin: {e}"))?;
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(format!("{s:?} is not an http:// or https:// origin"));
        }
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            Some(h) => h.to_string(),
            None => return Err(format!("{s:?} has no host")),
        };
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{s:?} is not an origin: scheme, host and port only (https://chat.example.com)"
            ));
        }
        let port = url
            .port_or_known_default()
            .ok_or_else(|| format!("{s:?} has no port"))?;
        Ok(Origin::new(scheme, &host, port))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.has_default_port() {
            true => write!(f, "{}://{}", self.scheme, self.host),
            false => write!(f, "{}://{}:{}", self.scheme, self.host, self.port),
        }
    }
}

/// The origins the server answers as, which [`ServerOptions::serve`](crate::ServerOptions::serve)
/// puts on every request for [`OriginPolicy::SameOrigin`].
#[derive(Clone, Debug)]
pub(crate) struct ServerOrigins(pub(crate) Arc<[Origin]>);

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
            OriginPolicy::SameOrigin => is_own(parts, origin),
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

/// Whether `origin` is one of the server's own. Without the server's list (a
/// router served by something else than `ServerOptions::serve`), only a
/// loopback origin whose host and port are the request's `Host`.
fn is_own(parts: &Parts, origin: &str) -> bool {
    let Ok(origin) = origin.parse::<Origin>() else {
        return false;
    };
    if let Some(ServerOrigins(own)) = parts.extensions.get::<ServerOrigins>() {
        return own.contains(&origin);
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()));
    let explicit = format!("{}:{}", origin.host, origin.port);
    origin.is_loopback()
        && host.is_some_and(|h| {
            h.eq_ignore_ascii_case(&explicit)
                || (origin.has_default_port() && h.eq_ignore_ascii_case(&origin.host))
        })
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

    fn served(origin: &str, host: &str, own: &[&str]) -> Parts {
        let mut p = parts(Some(origin), host);
        let own: Vec<Origin> = own.iter().map(|o| o.parse().expect("an origin")).collect();
        p.extensions.insert(ServerOrigins(own.into()));
        p
    }

    #[test]
    fn no_origin_is_fine() {
        assert!(OriginPolicy::default()
            .check(&parts(None, "api.example.com"))
            .is_ok());
    }

    #[test]
    fn the_servers_own_origins_are_compared_whole_never_with_host() {
        let p = OriginPolicy::default();
        let own = ["https://chat.example.com"];
        assert!(p
            .check(&served(
                "https://chat.example.com",
                "chat.example.com",
                &own
            ))
            .is_ok());
        // Port 443 written out is the same origin.
        assert!(p
            .check(&served("https://CHAT.example.com:443", "x", &own))
            .is_ok());
        // Another scheme, port or host is another origin, whatever Host says.
        for other in [
            "http://chat.example.com",
            "https://chat.example.com:8443",
            "javascript://chat.example.com",
            "https://evil.example",
            "null",
        ] {
            assert!(
                p.check(&served(other, "chat.example.com", &own)).is_err(),
                "{other}"
            );
        }
        // DNS rebinding: Host and Origin agree, and name someone else.
        let loopback = ["http://localhost:8080", "http://127.0.0.1:8080"];
        assert!(p
            .check(&served(
                "http://evil.example:8080",
                "evil.example:8080",
                &loopback
            ))
            .is_err());
        assert!(p
            .check(&served(
                "http://127.0.0.1:8080",
                "127.0.0.1:8080",
                &loopback
            ))
            .is_ok());
    }

    #[test]
    fn without_the_servers_list_only_a_loopback_page_of_the_same_host_passes() {
        let p = OriginPolicy::default();
        assert!(p
            .check(&parts(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"))
            .is_ok());
        assert!(p
            .check(&parts(
                Some("http://evil.example:8080"),
                "evil.example:8080"
            ))
            .is_err());
        assert!(p
            .check(&parts(Some("http://127.0.0.1:9999"), "127.0.0.1:8080"))
            .is_err());
    }

    #[test]
    fn origins_parse_as_operators_write_them() {
        assert_eq!(
            "https://Chat.Example.com/"
                .parse::<Origin>()
                .map(|o| o.to_string()),
            Ok("https://chat.example.com".to_owned())
        );
        assert_eq!(
            "http://[::1]:8080".parse::<Origin>().map(|o| o.to_string()),
            Ok("http://[::1]:8080".to_owned())
        );
        assert!("chat.example.com".parse::<Origin>().is_err());
        assert!("https://chat.example.com/app".parse::<Origin>().is_err());
        assert!("ftp://chat.example.com".parse::<Origin>().is_err());
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
