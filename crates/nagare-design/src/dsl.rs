//! The API, service and method expressions of the design language.
//!
//! The vocabulary is Goa's in snake_case, so a Goa design reads across line by line:
//!
//! ```
//! use nagare_design::*;
//!
//! let design = api("guide", |a| {
//!     a.title("Goa guide examples");
//!     a.service("chat", |s| {
//!         s.method("echo", |m| {
//!             m.description("Echoes every message back to its sender.");
//!             m.streaming_payload(|p| {
//!                 p.attribute("message", STRING, "Message to echo");
//!                 p.required(["message"]);
//!             });
//!             m.streaming_result(|r| {
//!                 r.attribute("message", STRING, "Echoed message");
//!                 r.required(["message"]);
//!             });
//!             m.http(|h| {
//!                 h.get("/echo");
//!             });
//!         });
//!     });
//! });
//! assert!(design.validate().is_ok());
//! ```

use std::sync::Arc;

use crate::http::{HttpEndpoint, HttpService};
use crate::security::{SchemeKind, SecurityRequirement, SecurityScheme};
use crate::source::Source;
use crate::types::{Object, Type};

/// A whole design: the value every generator reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Api {
    /// The API's name (the generated file's and the CLI's).
    pub name: String,
    /// A short title.
    pub title: Option<String>,
    /// A longer description.
    pub description: Option<String>,
    /// The API's version.
    pub version: Option<String>,
    /// Its services, in declaration order.
    pub services: Vec<Service>,
    /// The security schemes its methods may use.
    pub security_schemes: Vec<SecurityScheme>,
    /// Where the API is served, for the specs (Goa's `Server` and `Host`).
    pub servers: Vec<ApiServer>,
}

/// A place the API is served (Goa's `Server` with one `Host`): named, with
/// the URL of its HTTP endpoint; WebSocket clients use the same host with
/// `ws://` or `wss://`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiServer {
    /// The server's name (`local`, `production`).
    pub name: String,
    /// `http://host:port` or `https://host:port`, with an optional path prefix.
    pub url: String,
    /// What the server is.
    pub description: Option<String>,
    /// Where the server is declared.
    pub source: Option<Source>,
}

impl ApiServer {
    /// Documents the server.
    pub fn description(&mut self, text: &str) -> &mut Self {
        self.description = Some(text.to_owned());
        self
    }
}

/// Builds a design (Goa's `API`).
pub fn api(name: &str, build: impl FnOnce(&mut Api)) -> Api {
    let mut api = Api {
        name: name.to_owned(),
        ..Api::default()
    };
    build(&mut api);
    api
}

impl Api {
    /// Short title, for specs and `--help`.
    pub fn title(&mut self, text: &str) -> &mut Self {
        self.title = Some(text.to_owned());
        self
    }

    /// Longer description.
    pub fn description(&mut self, text: &str) -> &mut Self {
        self.description = Some(text.to_owned());
        self
    }

    /// API version.
    pub fn version(&mut self, text: &str) -> &mut Self {
        self.version = Some(text.to_owned());
        self
    }

    #[track_caller]
    fn scheme(
        &mut self,
        name: &str,
        kind: SchemeKind,
        build: impl FnOnce(&mut SecurityScheme),
    ) -> &mut Self {
        let mut scheme = SecurityScheme::new(name, kind, Source::caller());
        build(&mut scheme);
        self.security_schemes.push(scheme);
        self
    }

    /// Declares an HTTP basic authentication scheme (Goa's `BasicAuthSecurity`).
    #[track_caller]
    pub fn basic_auth_security(
        &mut self,
        name: &str,
        build: impl FnOnce(&mut SecurityScheme),
    ) -> &mut Self {
        self.scheme(name, SchemeKind::Basic, build)
    }

    /// Declares a JWT scheme with its scopes (Goa's `JWTSecurity`).
    #[track_caller]
    pub fn jwt_security(
        &mut self,
        name: &str,
        build: impl FnOnce(&mut SecurityScheme),
    ) -> &mut Self {
        self.scheme(name, SchemeKind::Jwt, build)
    }

    /// Declares an API-key scheme (Goa's `APIKeySecurity`).
    #[track_caller]
    pub fn api_key_security(
        &mut self,
        name: &str,
        build: impl FnOnce(&mut SecurityScheme),
    ) -> &mut Self {
        self.scheme(name, SchemeKind::ApiKey, build)
    }

    /// The scheme called `name`.
    pub fn security_scheme(&self, name: &str) -> Option<&SecurityScheme> {
        self.security_schemes.iter().find(|s| s.name == name)
    }

    /// Declares a place the API is served, for the specs: a name and the URL
    /// of its HTTP endpoint (`http://localhost:8080`).
    #[track_caller]
    pub fn server(&mut self, name: &str, url: &str) -> &mut ApiServer {
        self.servers.push(ApiServer {
            name: name.to_owned(),
            url: url.to_owned(),
            description: None,
            source: Some(Source::caller()),
        });
        let last = self.servers.len() - 1;
        &mut self.servers[last]
    }

    /// Declares a service (Goa's `Service`).
    #[track_caller]
    pub fn service(&mut self, name: &str, build: impl FnOnce(&mut Service)) -> &mut Self {
        let mut service = Service {
            name: name.to_owned(),
            source: Some(Source::caller()),
            ..Service::default()
        };
        build(&mut service);
        self.services.push(service);
        self
    }
}

/// A group of methods served together.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Service {
    /// The service's name (the generated module's, in snake_case).
    pub name: String,
    /// What the service does.
    pub description: Option<String>,
    /// Its methods, in declaration order.
    pub methods: Vec<Method>,
    /// Errors every method of the service may return.
    pub errors: Vec<ErrorDef>,
    /// The service's HTTP settings (path prefix, error statuses).
    pub http: HttpService,
    /// Security applied to every method that does not set its own.
    pub security: Vec<SecurityRequirement>,
    /// Where the service is declared.
    pub source: Option<Source>,
}

impl Service {
    /// Documents the service.
    pub fn description(&mut self, text: &str) -> &mut Self {
        self.description = Some(text.to_owned());
        self
    }

    /// Declares a method (Goa's `Method`).
    #[track_caller]
    pub fn method(&mut self, name: &str, build: impl FnOnce(&mut Method)) -> &mut Self {
        let mut method = Method {
            name: name.to_owned(),
            source: Some(Source::caller()),
            ..Method::default()
        };
        build(&mut method);
        self.methods.push(method);
        self
    }

    /// Declares an error shared by every method of the service: a string,
    /// [`ERROR_RESULT`](crate::ERROR_RESULT) or an object type.
    #[track_caller]
    pub fn error(&mut self, name: &str, ty: impl Into<Type>, description: &str) -> &mut Self {
        self.errors
            .push(ErrorDef::new(name, ty.into(), description));
        self
    }

    /// Service-level HTTP settings (path prefix, error statuses).
    pub fn http(&mut self, build: impl FnOnce(&mut HttpService)) -> &mut Self {
        build(&mut self.http);
        self
    }

    /// Secures every method with `scheme` and the given scopes (Goa's `Security`).
    #[track_caller]
    pub fn security<I, S>(&mut self, scheme: &str, scopes: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.security.push(requirement(scheme, scopes));
        self
    }

    /// The security requirements of a method: its own, or the service's.
    pub fn security_of<'a>(&'a self, method: &'a Method) -> &'a [SecurityRequirement] {
        method.security.as_deref().unwrap_or(&self.security)
    }

    /// Shortcut for `http(|h| h.path(prefix))`.
    pub fn path(&mut self, prefix: &str) -> &mut Self {
        self.http.path(prefix);
        self
    }

    /// The errors a method may return: its own, then the service's.
    pub fn errors_of<'a>(&'a self, method: &'a Method) -> impl Iterator<Item = &'a ErrorDef> {
        method.errors.iter().chain(
            self.errors
                .iter()
                .filter(|e| !method.errors.iter().any(|m| m.name == e.name)),
        )
    }
}

/// One method of a service.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Method {
    /// The method's name (the generated function's, in snake_case).
    pub name: String,
    /// What the method does.
    pub description: Option<String>,
    /// The initial payload; for streaming methods it travels in the upgrade request.
    pub payload: Option<Type>,
    /// The result: the single response of a unary method, or the final result of a
    /// client stream.
    pub result: Option<Type>,
    /// Type of each message the client streams.
    pub streaming_payload: Option<Type>,
    /// Type of each message the server streams.
    pub streaming_result: Option<Type>,
    /// The errors the method declares itself.
    pub errors: Vec<ErrorDef>,
    /// Its HTTP mapping.
    pub http: Option<HttpEndpoint>,
    /// `None`: the service's security applies; `Some(empty)`: no security.
    pub security: Option<Vec<SecurityRequirement>>,
    /// Set when the server stream is a room's: messages published into the
    /// room, numbered, kept for clients that come back, shared by every server
    /// process on the same broker (the `nagare.v1` extension): clients resume
    /// where they stopped.
    pub room: Option<Room>,
    /// The methods (of the same service) whose rooms this method publishes
    /// into.
    pub publishes: Vec<String>,
    /// The view a viewed result is always rendered with (Goa's `View` inside
    /// `Result`); no `Goa-View` header is then needed.
    pub result_view: Option<String>,
    /// Where the method is declared.
    pub source: Option<Source>,
}

/// How a method streams, as Goa classifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind {
    /// Request and response; no WebSocket.
    Unary,
    /// The server streams results (`streaming_result`).
    Server,
    /// The client streams payloads (`streaming_payload`), with no final result.
    Client,
    /// The client streams payloads; the server answers with one final `result`.
    ClientWithResult,
    /// Both stream (`streaming_payload` and `streaming_result`).
    Bidirectional,
}

impl StreamKind {
    /// True for every kind served over a WebSocket.
    pub fn is_streaming(self) -> bool {
        self != StreamKind::Unary
    }
}

impl Method {
    /// Documents the method.
    pub fn description(&mut self, text: &str) -> &mut Self {
        self.description = Some(text.to_owned());
        self
    }

    /// The initial payload, as an inline attribute block (Goa's
    /// `Payload(func() { ... })`).
    #[track_caller]
    pub fn payload(&mut self, build: impl FnOnce(&mut Object)) -> &mut Self {
        self.payload = Some(object(build));
        self
    }

    /// The initial payload, as a type (Goa's `Payload(T)`).
    pub fn payload_type(&mut self, ty: impl Into<Type>) -> &mut Self {
        self.payload = Some(ty.into());
        self
    }

    /// The result, as an inline attribute block.
    #[track_caller]
    pub fn result(&mut self, build: impl FnOnce(&mut Object)) -> &mut Self {
        self.result = Some(object(build));
        self
    }

    /// The result, as a type (a result type, `collection_of(..)`, a primitive...).
    pub fn result_type(&mut self, ty: impl Into<Type>) -> &mut Self {
        self.result = Some(ty.into());
        self
    }

    /// The messages the client streams, as an inline attribute block.
    #[track_caller]
    pub fn streaming_payload(&mut self, build: impl FnOnce(&mut Object)) -> &mut Self {
        self.streaming_payload = Some(object(build));
        self
    }

    /// The messages the client streams, as a type.
    pub fn streaming_payload_type(&mut self, ty: impl Into<Type>) -> &mut Self {
        self.streaming_payload = Some(ty.into());
        self
    }

    /// The messages the server streams, as an inline attribute block.
    #[track_caller]
    pub fn streaming_result(&mut self, build: impl FnOnce(&mut Object)) -> &mut Self {
        self.streaming_result = Some(object(build));
        self
    }

    /// The messages the server streams, as a type.
    pub fn streaming_result_type(&mut self, ty: impl Into<Type>) -> &mut Self {
        self.streaming_result = Some(ty.into());
        self
    }

    /// Secures the method with `scheme` and the given scopes (Goa's `Security`);
    /// several calls require every scheme.
    #[track_caller]
    pub fn security<I, S>(&mut self, scheme: &str, scopes: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.security
            .get_or_insert_with(Vec::new)
            .push(requirement(scheme, scopes));
        self
    }

    /// Removes the service's security from this method (Goa's `NoSecurity`).
    pub fn no_security(&mut self) -> &mut Self {
        self.security = Some(Vec::new());
        self
    }

    /// Pins the view the result is rendered with (Goa's `Result(T, func() { View(..) })`).
    pub fn result_view(&mut self, view: &str) -> &mut Self {
        self.result_view = Some(view.to_owned());
        self
    }

    /// Makes the server stream a room's: every client of the method follows
    /// the room its payload names (the `key` attributes), messages published
    /// into the room reach every follower in order, on any server process that
    /// shares the room's broker, and a client that loses its connection
    /// reconnects and gets what it missed, once (the `nagare.v1` extension, see
    /// `docs/protocol.md`).
    #[track_caller]
    pub fn room(&mut self, build: impl FnOnce(&mut Room)) -> &mut Self {
        let source = Source::caller();
        let mut room = self.room.take().unwrap_or_else(|| Room {
            source: Some(source),
            ..Room::default()
        });
        build(&mut room);
        self.room = Some(room);
        self
    }

    /// Says that the method publishes into the room of `method` (of the same
    /// service), which must have a `room` block.
    pub fn publishes(&mut self, method: &str) -> &mut Self {
        self.publishes.push(method.to_owned());
        self
    }

    /// Declares an error the method may return: a string,
    /// [`ERROR_RESULT`](crate::ERROR_RESULT) or an object type.
    #[track_caller]
    pub fn error(&mut self, name: &str, ty: impl Into<Type>, description: &str) -> &mut Self {
        self.errors
            .push(ErrorDef::new(name, ty.into(), description));
        self
    }

    /// The HTTP mapping of the method.
    #[track_caller]
    pub fn http(&mut self, build: impl FnOnce(&mut HttpEndpoint)) -> &mut Self {
        let source = Source::caller();
        let mut endpoint = self.http.take().unwrap_or_else(|| HttpEndpoint {
            source: Some(source),
            ..HttpEndpoint::default()
        });
        build(&mut endpoint);
        self.http = Some(endpoint);
        self
    }

    /// How the method streams.
    pub fn kind(&self) -> StreamKind {
        match (
            &self.streaming_payload,
            &self.streaming_result,
            &self.result,
        ) {
            (None, None, _) => StreamKind::Unary,
            (None, Some(_), _) => StreamKind::Server,
            (Some(_), Some(_), _) => StreamKind::Bidirectional,
            (Some(_), None, Some(_)) => StreamKind::ClientWithResult,
            (Some(_), None, None) => StreamKind::Client,
        }
    }
}

#[track_caller]
fn requirement<I, S>(scheme: &str, scopes: I) -> SecurityRequirement
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    SecurityRequirement {
        scheme: scheme.to_owned(),
        scopes: scopes.into_iter().map(|s| s.as_ref().to_owned()).collect(),
        source: Some(Source::caller()),
    }
}

/// An inline attribute block, declared at the caller's location.
#[track_caller]
fn object(build: impl FnOnce(&mut Object)) -> Type {
    let mut object = Object::here();
    build(&mut object);
    Type::Object(Arc::new(object))
}

/// The room a method's server stream follows.
#[derive(Clone, Debug, PartialEq)]
pub struct Room {
    /// Payload attributes that name the room (a chat channel, a document);
    /// empty when the method has one room for everybody.
    pub key: Vec<String>,
    /// Messages the room keeps for clients that come back and for history
    /// reads: a client away longer than it takes to publish this many is told
    /// it is too far behind.
    pub history: usize,
    /// Bytes of messages the history keeps at most (the runtime's default,
    /// 16 MiB, unless set): past it the oldest are forgotten, so a few large
    /// messages cannot pin more memory than this, in the server or in Redis.
    pub history_bytes: Option<usize>,
    /// Set when the room tracks who follows it: each follower is a member,
    /// described by these payload attributes (the user, say).
    pub presence: Option<Vec<String>>,
    /// Where the `room` block is.
    pub source: Option<Source>,
}

impl Default for Room {
    fn default() -> Self {
        Room {
            key: Vec::new(),
            history: 1024,
            history_bytes: None,
            presence: None,
            source: None,
        }
    }
}

impl Room {
    /// The payload attributes that name the room.
    pub fn key<I, S>(&mut self, attributes: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.key = attributes
            .into_iter()
            .map(|a| a.as_ref().to_owned())
            .collect();
        self
    }

    /// How many messages the room keeps (1024 unless set).
    pub fn history(&mut self, messages: usize) -> &mut Self {
        self.history = messages;
        self
    }

    /// How many bytes of messages the room keeps at most (16 MiB unless set):
    /// the oldest are forgotten past either limit, the newest always kept.
    pub fn history_bytes(&mut self, bytes: usize) -> &mut Self {
        self.history_bytes = Some(bytes);
        self
    }

    /// Tracks the room's followers as members, each described by these payload
    /// attributes (none: members are only counted and named by connection).
    pub fn presence<I, S>(&mut self, info: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.presence = Some(info.into_iter().map(|a| a.as_ref().to_owned()).collect());
        self
    }
}

/// An error a method may return (Goa's `Error`).
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorDef {
    /// The error's name, on the wire (`Goa-Error`, close reasons).
    pub name: String,
    /// The type of its value.
    pub ty: Type,
    /// What it means.
    pub description: Option<String>,
    /// Where it is declared.
    pub source: Option<Source>,
}

impl ErrorDef {
    #[track_caller]
    fn new(name: &str, ty: Type, description: &str) -> Self {
        ErrorDef {
            name: name.to_owned(),
            ty,
            description: (!description.is_empty()).then(|| description.to_owned()),
            source: Some(Source::caller()),
        }
    }
}
