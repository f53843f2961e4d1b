//! The HTTP mapping of services and methods.
//!
//! Every streaming endpoint is a `GET` that upgrades to a WebSocket; its initial
//! payload travels in the path, the query string, headers and cookies. Mappings take
//! an attribute name and optionally the element's wire name: `header("token:Authorization")`
//! reads the `token` attribute from the `Authorization` header.

use crate::source::Source;
use crate::types::{Attribute, Credential};

/// An HTTP verb.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `GET`: every WebSocket endpoint.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Verb {
    /// Upper-case name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }
}

/// A route: verb and path, path parameters written `/{id}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The verb.
    pub verb: Verb,
    /// The path, with `{param}` segments.
    pub path: String,
    /// Where the route is declared (the `get(..)`, `post(..)`... call).
    pub source: Option<Source>,
}

impl Route {
    /// Names of the path parameters, in order.
    pub fn params(&self) -> Vec<String> {
        path_params(&self.path)
    }
}

/// Names of the `{param}` segments of a path.
pub fn path_params(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = rest[start + 1..start + len].trim_start_matches('*');
        out.push(name.to_owned());
        rest = &rest[start + len + 1..];
    }
    out
}

/// Where an attribute of the payload comes from in the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Payload attribute.
    pub attribute: String,
    /// Name on the wire (query key, header name, cookie name).
    pub wire: String,
}

impl Mapping {
    /// Parses `attr` or `attr:wire`.
    fn parse(spec: &str) -> Mapping {
        match spec.split_once(':') {
            Some((attr, wire)) => Mapping {
                attribute: attr.to_owned(),
                wire: wire.to_owned(),
            },
            None => Mapping {
                attribute: spec.to_owned(),
                wire: spec.to_owned(),
            },
        }
    }
}

/// The HTTP mapping of one method.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpEndpoint {
    /// The routes, the first being the one clients use.
    pub routes: Vec<Route>,
    /// Attributes in query parameters.
    pub params: Vec<Mapping>,
    /// Attributes in headers.
    pub headers: Vec<Mapping>,
    /// Attributes in cookies.
    pub cookies: Vec<Mapping>,
    /// Attribute carried in the request body (`None` means "what is left", as in Goa).
    pub body: Option<String>,
    /// Success status.
    pub status: Option<u16>,
    /// Designed errors mapped to statuses.
    pub error_statuses: Vec<(String, u16)>,
    /// Connection settings of a streaming endpoint.
    pub ws: Option<WsSettings>,
    /// How many failed requests (401, 403) a unary endpoint allows per
    /// client before it answers 429.
    pub failures: Option<FailureLimit>,
    /// Where the `http` block is.
    pub source: Option<Source>,
}

/// Failed requests a unary endpoint allows (a login's wrong passwords): a
/// token bucket per client address and per value of each `by` attribute,
/// spent by every answer 401 or 403. An empty bucket is answered 429 with
/// `Retry-After` before the credentials are even checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureLimit {
    /// Failures allowed at once.
    pub burst: u32,
    /// Failures allowed per minute, on average.
    pub per_minute: u32,
    /// Payload attributes that key buckets besides the client address (the
    /// user name of a login, say).
    pub by: Vec<String>,
}

impl Default for FailureLimit {
    /// 5 failures at once, 10 a minute, by client address.
    fn default() -> Self {
        FailureLimit {
            burst: 5,
            per_minute: 10,
            by: Vec::new(),
        }
    }
}

impl FailureLimit {
    /// Failures allowed at once (5 unless set).
    pub fn burst(&mut self, n: u32) -> &mut Self {
        self.burst = n;
        self
    }

    /// Failures allowed per minute, on average (10 unless set).
    pub fn per_minute(&mut self, n: u32) -> &mut Self {
        self.per_minute = n;
        self
    }

    /// Also keys buckets by these payload attributes: a user name is limited
    /// from every address at once (and can be locked out by someone else's
    /// failures for as long as it takes a token to come back).
    pub fn by<I, S>(&mut self, attributes: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.by = attributes
            .into_iter()
            .map(|a| a.as_ref().to_owned())
            .collect();
        self
    }
}

impl HttpEndpoint {
    #[track_caller]
    fn route(&mut self, verb: Verb, path: &str) -> &mut Self {
        self.routes.push(Route {
            verb,
            path: path.to_owned(),
            source: Some(Source::caller()),
        });
        self
    }

    /// `GET path`: the only verb a streaming method may use.
    #[track_caller]
    pub fn get(&mut self, path: &str) -> &mut Self {
        self.route(Verb::Get, path)
    }

    /// `POST path`.
    #[track_caller]
    pub fn post(&mut self, path: &str) -> &mut Self {
        self.route(Verb::Post, path)
    }

    /// `PUT path`.
    #[track_caller]
    pub fn put(&mut self, path: &str) -> &mut Self {
        self.route(Verb::Put, path)
    }

    /// `PATCH path`.
    #[track_caller]
    pub fn patch(&mut self, path: &str) -> &mut Self {
        self.route(Verb::Patch, path)
    }

    /// `DELETE path`.
    #[track_caller]
    pub fn delete(&mut self, path: &str) -> &mut Self {
        self.route(Verb::Delete, path)
    }

    /// Maps an attribute to a query parameter (`"attr"` or `"attr:key"`).
    pub fn param(&mut self, spec: &str) -> &mut Self {
        self.params.push(Mapping::parse(spec));
        self
    }

    /// Maps an attribute to a header (`"attr"` or `"attr:Header-Name"`).
    pub fn header(&mut self, spec: &str) -> &mut Self {
        self.headers.push(Mapping::parse(spec));
        self
    }

    /// Maps an attribute to a cookie (`"attr"` or `"attr:cookie_name"`).
    pub fn cookie(&mut self, spec: &str) -> &mut Self {
        self.cookies.push(Mapping::parse(spec));
        self
    }

    /// Carries an attribute in the request body (unary methods only: an upgrade
    /// request has no body).
    pub fn body(&mut self, attribute: &str) -> &mut Self {
        self.body = Some(attribute.to_owned());
        self
    }

    /// Success status (Goa's `Response(StatusOK)`).
    pub fn response(&mut self, status: u16) -> &mut Self {
        self.status = Some(status);
        self
    }

    /// Maps a designed error to a status (Goa's `Response("name", Status)`).
    pub fn error_response(&mut self, error: &str, status: u16) -> &mut Self {
        self.error_statuses.push((error.to_owned(), status));
        self
    }

    /// Limits failed requests (401, 403) of this unary endpoint per client:
    /// past them, 429 with `Retry-After` (see [`FailureLimit`]).
    pub fn failures(&mut self, build: impl FnOnce(&mut FailureLimit)) -> &mut Self {
        build(self.failures.get_or_insert_with(FailureLimit::default));
        self
    }

    /// Connection settings for this streaming endpoint (heartbeats, limits,
    /// queues, origins); anything not set keeps the server's default, and code can
    /// still override the endpoint at run time.
    pub fn ws(&mut self, build: impl FnOnce(&mut WsSettings)) -> &mut Self {
        build(self.ws.get_or_insert_with(WsSettings::default));
        self
    }

    /// Where an attribute travels in the request, and its wire name: the path, an
    /// explicit mapping, or for credentials the `Authorization` header (`Basic` for
    /// user name and password). `None` for an attribute left to the body.
    pub fn location_of(&self, attr: &Attribute, route: &Route) -> Option<(Location, String)> {
        let attribute = attr.name.as_str();
        if route.params().iter().any(|p| p == attribute) {
            return Some((Location::Path, attribute.to_owned()));
        }
        let find = |list: &[Mapping], loc| {
            list.iter()
                .find(|m| m.attribute == attribute)
                .map(|m| (loc, m.wire.clone()))
        };
        find(&self.params, Location::Query)
            .or_else(|| find(&self.headers, Location::Header))
            .or_else(|| find(&self.cookies, Location::Cookie))
            .or_else(|| match attr.credential {
                Some(Credential::Username | Credential::Password) => {
                    Some((Location::BasicAuth, "Authorization".to_owned()))
                }
                Some(Credential::Token | Credential::ApiKey { .. }) => {
                    Some((Location::Header, "Authorization".to_owned()))
                }
                None => None,
            })
    }
}

/// Where a payload attribute travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A path segment.
    Path,
    /// A query parameter.
    Query,
    /// A header.
    Header,
    /// A cookie.
    Cookie,
    /// The user name or password of an `Authorization: Basic` header.
    BasicAuth,
    /// The JSON body (unary methods only).
    Body,
}

impl Location {
    /// The word Goa uses in `missing_field` messages.
    pub fn goa_context(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query string",
            Location::Header => "header",
            Location::Cookie => "cookie",
            Location::BasicAuth => "header",
            Location::Body => "body",
        }
    }
}

/// Service-level HTTP settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpService {
    /// Path prefix of every endpoint of the service.
    pub path: Option<String>,
    /// Statuses of the service's errors.
    pub error_statuses: Vec<(String, u16)>,
}

impl HttpService {
    /// Path prefix of every endpoint of the service.
    pub fn path(&mut self, prefix: &str) -> &mut Self {
        self.path = Some(prefix.to_owned());
        self
    }

    /// Maps a service error to a status.
    pub fn error_response(&mut self, error: &str, status: u16) -> &mut Self {
        self.error_statuses.push((error.to_owned(), status));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_params_are_found_in_order() {
        assert_eq!(path_params("/a/{x}/b/{y}"), ["x", "y"]);
        assert!(path_params("/plain").is_empty());
    }

    #[test]
    fn mapping_splits_attribute_and_wire_name() {
        let m = Mapping::parse("token:Authorization");
        assert_eq!(m.attribute, "token");
        assert_eq!(m.wire, "Authorization");
        assert_eq!(Mapping::parse("view").wire, "view");
    }
}

/// What a full outbound queue does (see nagare's `SlowConsumer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlowConsumerPolicy {
    /// The send waits for room.
    Wait,
    /// The oldest queued message is dropped.
    DropOldest,
    /// The connection is closed with this code.
    Disconnect(u16),
}

/// Connection settings of one streaming endpoint (the design's `ws` block).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WsSettings {
    /// Ping a peer not heard from for this long.
    pub ping_interval: Option<std::time::Duration>,
    /// Turns heartbeats off for the endpoint.
    pub no_heartbeat: bool,
    /// A peer silent this long after a ping is dead.
    pub pong_timeout: Option<std::time::Duration>,
    /// Close after this long without data either way.
    pub idle_timeout: Option<std::time::Duration>,
    /// Disconnect a peer that does not read for this long.
    pub write_timeout: Option<std::time::Duration>,
    /// Largest message accepted (bytes).
    pub max_message_size: Option<usize>,
    /// Largest frame accepted (bytes).
    pub max_frame_size: Option<usize>,
    /// Received messages queued for the service.
    pub inbound_queue: Option<usize>,
    /// Sent messages queued for the peer.
    pub outbound_queue: Option<usize>,
    /// Bytes of sent messages queued for the peer.
    pub outbound_bytes: Option<usize>,
    /// Data messages a peer may send over a connection's life; beyond, 1008.
    pub max_received_messages: Option<u64>,
    /// Bytes of data messages a peer may send over a connection's life;
    /// beyond, 1008.
    pub max_received_bytes: Option<u64>,
    /// What a full outbound queue does.
    pub slow_consumer: Option<SlowConsumerPolicy>,
    /// Allowed browser origins: exact, `https://*.domain`, or `*` for any.
    pub origins: Option<Vec<String>>,
    /// Subprotocols spoken, in preference order.
    pub subprotocols: Option<Vec<String>>,
    /// Refuse clients that offer none of the subprotocols.
    pub require_subprotocol: bool,
    /// permessage-deflate: zlib level (0-9) and the size under which messages go
    /// uncompressed.
    pub compression: Option<(u32, usize)>,
    /// Connections the endpoint takes at once; beyond, 503.
    pub max_connections: Option<usize>,
    /// Messages per second a peer may send (bursts of as many); beyond, 1008.
    pub message_rate: Option<u32>,
}

impl WsSettings {
    /// Ping a peer not heard from for this long.
    pub fn ping_interval(&mut self, d: std::time::Duration) -> &mut Self {
        self.ping_interval = Some(d);
        self
    }

    /// No pings on this endpoint.
    pub fn no_heartbeat(&mut self) -> &mut Self {
        self.no_heartbeat = true;
        self
    }

    /// A peer silent this long after a ping is dead.
    pub fn pong_timeout(&mut self, d: std::time::Duration) -> &mut Self {
        self.pong_timeout = Some(d);
        self
    }

    /// Close after this long without data either way.
    pub fn idle_timeout(&mut self, d: std::time::Duration) -> &mut Self {
        self.idle_timeout = Some(d);
        self
    }

    /// Disconnect a peer that does not read for this long.
    pub fn write_timeout(&mut self, d: std::time::Duration) -> &mut Self {
        self.write_timeout = Some(d);
        self
    }

    /// Largest message accepted (bytes); larger ones close with 1009.
    pub fn max_message_size(&mut self, n: usize) -> &mut Self {
        self.max_message_size = Some(n);
        self
    }

    /// Largest frame accepted (bytes).
    pub fn max_frame_size(&mut self, n: usize) -> &mut Self {
        self.max_frame_size = Some(n);
        self
    }

    /// Received messages queued for the service.
    pub fn inbound_queue(&mut self, n: usize) -> &mut Self {
        self.inbound_queue = Some(n);
        self
    }

    /// Sent messages queued for the peer.
    pub fn outbound_queue(&mut self, n: usize) -> &mut Self {
        self.outbound_queue = Some(n);
        self
    }

    /// Bytes of sent messages queued for the peer: the queue is full at this
    /// many bytes or at `outbound_queue` messages, whichever comes first.
    pub fn outbound_bytes(&mut self, n: usize) -> &mut Self {
        self.outbound_bytes = Some(n);
        self
    }

    /// Data messages a peer may send over a connection's life (a client
    /// stream's whole length); one more closes it with 1008.
    pub fn max_received_messages(&mut self, n: u64) -> &mut Self {
        self.max_received_messages = Some(n);
        self
    }

    /// Bytes of data messages a peer may send over a connection's life; past
    /// them, 1008.
    pub fn max_received_bytes(&mut self, n: u64) -> &mut Self {
        self.max_received_bytes = Some(n);
        self
    }

    /// Connections the endpoint takes at once; an upgrade beyond is answered
    /// 503 with `Retry-After`.
    pub fn max_connections(&mut self, n: usize) -> &mut Self {
        self.max_connections = Some(n);
        self
    }

    /// Messages per second a peer may send, in bursts of as many; a peer that
    /// sends faster is closed with 1008.
    pub fn message_rate(&mut self, per_second: u32) -> &mut Self {
        self.message_rate = Some(per_second);
        self
    }

    /// What a full outbound queue does.
    pub fn slow_consumer(&mut self, p: SlowConsumerPolicy) -> &mut Self {
        self.slow_consumer = Some(p);
        self
    }

    /// Subprotocols spoken, in preference order (the first the client offers is
    /// selected).
    pub fn subprotocols<I, S>(&mut self, protocols: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.subprotocols = Some(
            protocols
                .into_iter()
                .map(|p| p.as_ref().to_owned())
                .collect(),
        );
        self
    }

    /// Accept permessage-deflate at zlib `level` (0-9) for clients that offer it;
    /// messages under `threshold` bytes go uncompressed. Needs nagare's
    /// `compression` feature in the serving crate.
    pub fn compression(&mut self, level: u32, threshold: usize) -> &mut Self {
        self.compression = Some((level, threshold));
        self
    }

    /// Refuse clients that offer none of the subprotocols.
    pub fn require_subprotocol(&mut self) -> &mut Self {
        self.require_subprotocol = true;
        self
    }

    /// Allowed browser origins.
    pub fn origins<I, S>(&mut self, origins: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.origins = Some(origins.into_iter().map(|o| o.as_ref().to_owned()).collect());
        self
    }
}
