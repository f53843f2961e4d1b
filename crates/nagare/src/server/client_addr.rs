//! The address of the client behind a request: the TCP peer's, or, when the
//! peer is a proxy the server trusts ([`Limits::trusted_proxies`]), the one
//! the proxy reports.
//!
//! Behind a load balancer every connection comes from the balancer, so
//! per-address limits keyed on the TCP peer would put every client in one
//! bucket. A trusted proxy's `Forwarded: for=` (RFC 7239), or else its
//! `X-Forwarded-For`, names the hops; the client is the nearest hop that is
//! not itself a trusted proxy. Headers from any other peer are ignored: a
//! client cannot name itself someone else.
//!
//! [`Limits::trusted_proxies`]: crate::server::Limits::trusted_proxies

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// The client's address, as [`ServerOptions::serve`](crate::ServerOptions::serve)
/// determined it: an extension of every request it serves (extract it with
/// `axum::Extension<ClientAddr>`). Key per-client limits (a login's rate, say)
/// on it rather than on the TCP peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A range of addresses in CIDR notation (`10.0.0.0/8`, `fd00::/8`), or one
/// address (`192.0.2.7`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpRange(ipnet::IpNet);

impl IpRange {
    /// Whether `ip` is in the range (an IPv4 address mapped into IPv6 counts
    /// as the IPv4 one).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&canonical(ip))
    }
}

impl From<IpAddr> for IpRange {
    fn from(ip: IpAddr) -> Self {
        IpRange(ipnet::IpNet::from(canonical(ip)))
    }
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(net) = s.parse::<ipnet::IpNet>() {
            return Ok(IpRange(net.trunc()));
        }
        s.parse::<IpAddr>().map(IpRange::from).map_err(|_| {
            format!("{s:?} is not an address or a range (192.0.2.7, 10.0.0.0/8, fd00::/8)")
        })
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// IPv4-mapped IPv6 addresses as IPv4, so one client has one key.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `peer` is one of the `trusted` proxies.
pub(crate) fn is_trusted(peer: IpAddr, trusted: &[IpRange]) -> bool {
    trusted.iter().any(|r| r.contains(peer))
}

/// The client behind a request from `peer`: `peer` itself unless it is a
/// trusted proxy; then the nearest hop its headers name that is not a trusted
/// proxy (or the farthest one, when every hop is trusted). A hop that cannot
/// be read (`unknown`, an obfuscated name) ends the walk: the client is the
/// last hop read before it, or `peer`.
pub(crate) fn client_of(peer: IpAddr, headers: &HeaderMap, trusted: &[IpRange]) -> IpAddr {
    let peer = canonical(peer);
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let hops = forwarded_hops(headers);
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = hop else {
            return client;
        };
        client = canonical(*ip);
        if !is_trusted(client, trusted) {
            return client;
        }
    }
    client
}

/// The hops a request went through, farthest first: `Forwarded`'s `for=`
/// values, or, without that header, `X-Forwarded-For`'s list. `None` for a
/// hop that is not an address.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<Option<IpAddr>> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_node(value.trim().trim_matches('"')))
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| parse_node(hop.trim()))
        .collect()
}

/// An address as proxies write them: `192.0.2.7`, `192.0.2.7:4711`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711` or `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = node.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    node.strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("a header value"));
        }
        h
    }

    fn ranges(list: &[&str]) -> Vec<IpRange> {
        list.iter().map(|r| r.parse().expect("a range")).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(client_of(ip("198.51.100.1"), &h, &[]), ip("198.51.100.1"));
        let trusted = ranges(&["10.0.0.0/8"]);
        assert_eq!(
            client_of(ip("198.51.100.1"), &h, &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_nearest_untrusted_hop() {
        let trusted = ranges(&["10.0.0.0/8", "127.0.0.1"]);
        // The client put a lie first; the proxies appended what they saw.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.1.2.3")]);
        assert_eq!(client_of(ip("10.0.0.1"), &h, &trusted), ip("203.0.113.9"));
        // Forwarded wins over X-Forwarded-For, quoted IPv6 with a port included.
        let h = headers(&[
            (
                "forwarded",
                "for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\"",
            ),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            client_of(ip("127.0.0.1"), &h, &trusted),
            ip("2001:db8:cafe::17")
        );
        // Several header lines are one list, in order.
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-for", "10.9.9.9"),
        ]);
        assert_eq!(client_of(ip("10.0.0.1"), &h, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn unreadable_or_missing_hops_fall_back_to_what_was_read() {
        let trusted = ranges(&["10.0.0.0/8"]);
        let h = headers(&[("forwarded", "for=unknown, for=10.2.2.2")]);
        assert_eq!(client_of(ip("10.0.0.1"), &h, &trusted), ip("10.2.2.2"));
        assert_eq!(
            client_of(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
        // An IPv4 client seen over IPv6 is the IPv4 one.
        assert_eq!(
            client_of(ip("::ffff:198.51.100.1"), &HeaderMap::new(), &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn ranges_parse_as_operators_write_them() {
        assert!("192.0.2.7"
            .parse::<IpRange>()
            .is_ok_and(|r| r.contains(ip("192.0.2.7"))));
        assert!("10.1.2.3/8"
            .parse::<IpRange>()
            .is_ok_and(|r| r.to_string() == "10.0.0.0/8"));
        let e = "proxy".parse::<IpRange>().err().unwrap_or_default();
        assert!(e.contains("is not an address or a range"), "{e}");
    }
}
