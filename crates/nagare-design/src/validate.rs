//! Design validation: every rule a design must satisfy before code is generated.
//!
//! All problems are collected, not just the first, and each names where it is
//! (the line of the design's source, then service, method, expression) and the
//! rule it breaks, as Goa's `eval` does:
//!
//! ```text
//! design.rs:42:13: service "chat" method "echo": http: WebSocket endpoints must use GET: the upgrade is a GET request (got POST /echo)
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use serde_json::Value;

use crate::dsl::{Api, Method, Service};
use crate::http::{HttpEndpoint, Route};
use crate::security::{SchemeKind, SecurityScheme};
use crate::source::Source;
use crate::types::{Attribute, Bound, Credential, Object, Primitive, Type, UserType};

/// One broken rule, with its location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesignError {
    /// Where in the design's source: the DSL call closest to the problem.
    pub source: Option<Source>,
    /// Where in the design: `service "chat" method "echo": streaming_payload`.
    pub location: String,
    /// The rule broken.
    pub message: String,
}

impl fmt::Display for DesignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(source) = &self.source {
            write!(f, "{source}: ")?;
        }
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Every problem found in a design.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct DesignErrors(pub Vec<DesignError>);

impl fmt::Display for DesignErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid design ({} errors):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl Api {
    /// Checks every rule; returns all problems found.
    pub fn validate(&self) -> Result<(), DesignErrors> {
        let mut v = Validator::default();
        v.api(self);
        if v.errors.is_empty() {
            Ok(())
        } else {
            Err(DesignErrors(v.errors))
        }
    }
}

#[derive(Default)]
struct Validator {
    errors: Vec<DesignError>,
    /// User types already checked (by name), so shared types are reported once.
    seen_types: HashSet<String>,
    /// Routes seen so far, normalised, with the method that owns them.
    routes: HashMap<(String, String), String>,
    /// The API's security schemes.
    schemes: Vec<SecurityScheme>,
    /// The source of the innermost expression being checked.
    at: Option<Source>,
}

impl Validator {
    fn err(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.errors.push(DesignError {
            source: self.at,
            location: location.into(),
            message: message.into(),
        });
    }

    /// Checks an expression written at `source` (or, when it has none, where the
    /// enclosing one was): errors found by `check` point there.
    fn within(&mut self, source: Option<Source>, check: impl FnOnce(&mut Self)) {
        let outer = self.at;
        self.at = source.or(outer);
        check(self);
        self.at = outer;
    }

    fn api(&mut self, api: &Api) {
        self.schemes = api.security_schemes.clone();
        let mut names = HashSet::new();
        for scheme in &api.security_schemes {
            if !names.insert(&scheme.name) {
                self.err(
                    format!("security scheme {:?}", scheme.name),
                    "duplicate scheme name",
                );
            }
        }
        if api.name.is_empty() {
            self.err("api", "name must not be empty");
        }
        let mut names = HashSet::new();
        for server in &api.servers {
            let loc = format!("server {:?}", server.name);
            self.within(server.source, |v| {
                if !names.insert(&server.name) {
                    v.err(&loc, "duplicate server name");
                }
                if !is_identifier(&server.name) {
                    v.err(
                        &loc,
                        "name must be a lower-case identifier (letters, digits, '_' or '-')",
                    );
                }
                let host = server
                    .url
                    .strip_prefix("http://")
                    .or_else(|| server.url.strip_prefix("https://"));
                if !host.is_some_and(|h| !h.is_empty() && !h.starts_with('/')) {
                    v.err(
                        &loc,
                        format!(
                            "url {:?} must be http://host[:port][/path] or https://...",
                            server.url
                        ),
                    );
                }
            });
        }
        let mut names = HashSet::new();
        for s in &api.services {
            if !names.insert(&s.name) {
                self.err(format!("service {:?}", s.name), "duplicate service name");
            }
            self.service(s);
        }
    }

    fn service(&mut self, s: &Service) {
        self.within(s.source, |v| v.service_body(s));
    }

    fn service_body(&mut self, s: &Service) {
        let loc = format!("service {:?}", s.name);
        if !is_identifier(&s.name) {
            self.err(
                &loc,
                "name must be a lower-case identifier (letters, digits, '_' or '-')",
            );
        }
        let mut names = HashSet::new();
        for m in &s.methods {
            if !names.insert(&m.name) {
                self.err(
                    format!("{loc} method {:?}", m.name),
                    "duplicate method name",
                );
            }
            self.within(m.source, |v| v.method(s, m));
        }
        for e in &s.errors {
            self.error_def(&format!("{loc} error {:?}", e.name), e);
        }
        for (name, _) in &s.http.error_statuses {
            if !s.errors.iter().any(|e| &e.name == name) {
                self.err(
                    format!("{loc}: http"),
                    format!("error {name:?} is mapped to a status but not declared with error()"),
                );
            }
        }
    }

    fn method(&mut self, s: &Service, m: &Method) {
        let loc = format!("service {:?} method {:?}", s.name, m.name);
        if !is_identifier(&m.name) {
            self.err(
                &loc,
                "name must be a lower-case identifier (letters, digits, '_' or '-')",
            );
        }
        for (what, ty) in [
            ("payload", &m.payload),
            ("result", &m.result),
            ("streaming_payload", &m.streaming_payload),
            ("streaming_result", &m.streaming_result),
        ] {
            if let Some(ty) = ty {
                self.type_(&format!("{loc}: {what}"), ty);
            }
        }
        for e in &m.errors {
            self.error_def(&format!("{loc} error {:?}", e.name), e);
        }
        // JSON `null` ends a client stream, so the message type must not admit it.
        if matches!(m.streaming_payload, Some(Type::Primitive(Primitive::Any))) {
            self.err(
                format!("{loc}: streaming_payload"),
                "type any cannot be streamed by the client: null ends the stream",
            );
        }
        self.security(s, m, &loc);
        if let Some(view) = &m.result_view {
            let result = match m.kind() {
                crate::dsl::StreamKind::Server | crate::dsl::StreamKind::Bidirectional => {
                    m.streaming_result.as_ref()
                }
                _ => m.result.as_ref(),
            };
            match result.and_then(Type::viewed) {
                Some(u) if u.views().iter().any(|v| &v.name == view) => {}
                Some(u) => self.err(
                    format!("{loc}: result_view"),
                    format!("view {view:?} is not a view of {:?}", u.name),
                ),
                None => self.err(
                    format!("{loc}: result_view"),
                    "result_view needs a result type with views",
                ),
            }
        }
        if let Some(room) = &m.room {
            self.within(room.source, |v| v.room(m, room, &loc));
        }
        for target in &m.publishes {
            match s.methods.iter().find(|t| &t.name == target) {
                None => self.err(
                    format!("{loc}: publishes"),
                    format!("no method {target:?} in service {:?}", s.name),
                ),
                Some(t) if t.room.is_none() => self.err(
                    format!("{loc}: publishes"),
                    format!("method {target:?} has no room to publish into (give it a room block)"),
                ),
                Some(_) => {}
            }
        }
        let Some(http) = &m.http else {
            self.err(&loc, "no HTTP mapping: add http(|h| { h.get(\"/path\"); })");
            return;
        };
        self.within(http.source, |v| v.http(s, m, http, &loc));
    }

    /// A designed error: its value travels as a string (a close reason), Goa's
    /// error object or an object's JSON.
    fn error_def(&mut self, loc: &str, e: &crate::dsl::ErrorDef) {
        self.within(e.source, |v| {
            let allowed = matches!(e.ty, Type::Primitive(Primitive::String) | Type::ErrorResult)
                || e.ty.object().is_some();
            if !allowed {
                v.err(
                    loc,
                    "an error's type must be STRING, ERROR_RESULT or an object type",
                );
            }
            v.type_(loc, &e.ty);
        });
    }

    fn room(&mut self, m: &Method, room: &crate::dsl::Room, loc: &str) {
        let rloc = format!("{loc}: room");
        if !matches!(
            m.kind(),
            crate::dsl::StreamKind::Server | crate::dsl::StreamKind::Bidirectional
        ) {
            self.err(
                &rloc,
                "only a streaming_result can follow a room (a server or bidirectional stream)",
            );
        }
        if room.history == 0 {
            self.err(&rloc, "history must keep at least one message");
        }
        if room.history_bytes == Some(0) {
            self.err(&rloc, "history_bytes must keep at least one byte");
        }
        let payload = m.payload.as_ref().and_then(Type::object);
        for key in &room.key {
            match payload.and_then(|o| o.get(key).map(|a| (o, a))) {
                None => self.err(
                    &rloc,
                    format!("key {key:?} names an attribute the payload does not have"),
                ),
                Some((o, a)) if !o.is_required(key) && a.default.is_none() => self.err(
                    &rloc,
                    format!("key {key:?} must be required (or have a default): every connection to the room names it"),
                ),
                Some(_) => {}
            }
        }
        for info in room.presence.iter().flatten() {
            if payload.and_then(|o| o.get(info)).is_none() {
                self.err(
                    &rloc,
                    format!("presence {info:?} names an attribute the payload does not have"),
                );
            }
        }
        let drops = m
            .http
            .as_ref()
            .and_then(|h| h.ws.as_ref())
            .and_then(|w| w.slow_consumer)
            == Some(crate::http::SlowConsumerPolicy::DropOldest);
        if drops {
            self.err(
                &rloc,
                "a room's stream cannot drop messages (slow_consumer DropOldest): its clients would see gaps",
            );
        }
    }

    fn security(&mut self, s: &Service, m: &Method, loc: &str) {
        for req in s.security_of(m) {
            self.within(req.source, |v| v.requirement(m, req, loc));
        }
    }

    fn requirement(&mut self, m: &Method, req: &crate::security::SecurityRequirement, loc: &str) {
        let payload = m.payload.as_ref().and_then(Type::object);
        {
            let sloc = format!("{loc}: security({:?})", req.scheme);
            let Some(scheme) = self.schemes.iter().find(|x| x.name == req.scheme).cloned() else {
                self.err(&sloc, "unknown security scheme: declare it on the API");
                return;
            };
            for scope in &req.scopes {
                if !scheme.scopes.iter().any(|(n, _)| n == scope) {
                    self.err(
                        &sloc,
                        format!("scope {scope:?} is not declared by the scheme"),
                    );
                }
            }
            let needed: Vec<(Credential, &str)> = match scheme.kind {
                SchemeKind::Basic => vec![
                    (Credential::Username, "username(..)"),
                    (Credential::Password, "password(..)"),
                ],
                SchemeKind::Jwt => vec![(Credential::Token, "token(..)")],
                SchemeKind::ApiKey => vec![(
                    Credential::ApiKey {
                        scheme: scheme.name.clone(),
                    },
                    "api_key(..)",
                )],
            };
            for (credential, dsl) in needed {
                if payload
                    .and_then(|p| p.credential_attribute(&credential))
                    .is_none()
                {
                    self.err(
                        &sloc,
                        format!("the payload needs an attribute declared with {dsl} to carry the credential"),
                    );
                }
            }
        }
    }

    fn http(&mut self, s: &Service, m: &Method, http: &HttpEndpoint, loc: &str) {
        let hloc = format!("{loc}: http");
        let streaming = m.kind().is_streaming();
        if http.routes.is_empty() {
            self.err(&hloc, "no route: add get(\"/path\") or another verb");
        }
        let payload = m.payload.as_ref().and_then(Type::object);
        let prefix = s.http.path.clone().unwrap_or_default();
        for route in &http.routes {
            let outer = self.at;
            self.at = route.source.or(outer);
            let full = Route {
                verb: route.verb,
                path: format!("{prefix}{}", route.path),
                source: route.source,
            };
            if streaming && route.verb != crate::http::Verb::Get {
                self.err(
                    &hloc,
                    format!(
                        "WebSocket endpoints must use GET: the upgrade is a GET request (got {} {})",
                        route.verb.as_str(),
                        full.path
                    ),
                );
            }
            if !full.path.starts_with('/') {
                self.err(&hloc, format!("path {:?} must start with '/'", full.path));
            }
            let key = (full.verb.as_str().to_owned(), normalise_path(&full.path));
            let owner = format!("service {:?} method {:?}", s.name, m.name);
            if let Some(other) = self.routes.get(&key) {
                self.err(
                    &hloc,
                    format!(
                        "duplicate route {} {}: already used by {other}",
                        full.verb.as_str(),
                        full.path
                    ),
                );
            } else {
                self.routes.insert(key, owner);
            }
            for p in full.params() {
                if payload.is_none_or(|o| o.get(&p).is_none()) {
                    self.err(
                        &hloc,
                        format!(
                            "path parameter {{{p}}} names an attribute the payload does not have"
                        ),
                    );
                }
            }
            self.at = outer;
        }
        for (kind, list) in [
            ("param", &http.params),
            ("header", &http.headers),
            ("cookie", &http.cookies),
        ] {
            for mapping in list {
                match payload.and_then(|o| o.get(&mapping.attribute)) {
                    None => self.err(
                        &hloc,
                        format!(
                            "{kind}({:?}) names an attribute the payload does not have",
                            mapping.attribute
                        ),
                    ),
                    Some(attr) if !is_mappable(&attr.ty) => self.err(
                        &hloc,
                        format!(
                            "{kind}({:?}): only primitives and arrays of primitives can travel in a {kind}",
                            mapping.attribute
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
        if streaming {
            if let Some(body) = &http.body {
                self.err(
                    &hloc,
                    format!("body({body:?}): a WebSocket upgrade request has no body; map the attribute to the path, a param, a header or a cookie"),
                );
            }
            if let Some(ty) = &m.payload {
                match ty.object() {
                    Some(obj) => {
                        for attr in &obj.attributes {
                            let mapped = http
                                .routes
                                .first()
                                .and_then(|r| http.location_of(attr, r))
                                .is_some();
                            if !mapped {
                                self.err(
                                    &hloc,
                                    format!(
                                        "payload attribute {:?} is not mapped to the path, a param, a header or a cookie: an upgrade request has no body",
                                        attr.name
                                    ),
                                );
                            }
                        }
                    }
                    None => self.err(
                        &hloc,
                        "the payload of a streaming method must be an object whose attributes map to the path, params, headers or cookies",
                    ),
                }
            }
        }
        if let Some(f) = &http.failures {
            if streaming {
                self.err(
                    &hloc,
                    "failures(..) applies to unary methods only (a stream's peer is limited by its ws(..) settings)",
                );
            }
            if f.burst == 0 || f.per_minute == 0 {
                self.err(
                    &hloc,
                    "failures: burst and per_minute must be greater than 0",
                );
            }
            let payload = m.payload.as_ref().and_then(Type::object);
            for key in &f.by {
                match payload.and_then(|o| o.get(key).map(|a| (o, a))) {
                    None => self.err(
                        &hloc,
                        format!("failures: by {key:?} names an attribute the payload does not have"),
                    ),
                    Some((o, a)) if !o.is_required(key) || a.ty.primitive().is_none() => self.err(
                        &hloc,
                        format!("failures: by {key:?} must be a required attribute of a primitive type: every request is keyed by it"),
                    ),
                    Some(_) => {}
                }
            }
        }
        if let Some(ws) = &http.ws {
            if !streaming {
                self.err(&hloc, "ws(..) applies to streaming methods only");
            }
            for (what, n) in [
                ("max_message_size", ws.max_message_size),
                ("max_frame_size", ws.max_frame_size),
                ("inbound_queue", ws.inbound_queue),
                ("outbound_queue", ws.outbound_queue),
                ("outbound_bytes", ws.outbound_bytes),
            ] {
                if n == Some(0) {
                    self.err(&hloc, format!("ws: {what} must be greater than 0"));
                }
            }
            for (what, n) in [
                ("max_received_messages", ws.max_received_messages),
                ("max_received_bytes", ws.max_received_bytes),
            ] {
                if n == Some(0) {
                    self.err(&hloc, format!("ws: {what} must be greater than 0"));
                }
            }
            if let Some((level, _)) = ws.compression {
                if level > 9 {
                    self.err(
                        &hloc,
                        format!("ws: compression level {level} is not between 0 and 9"),
                    );
                }
            }
            if let Some(crate::http::SlowConsumerPolicy::Disconnect(code)) = ws.slow_consumer {
                if !(1000..=4999).contains(&code) || matches!(code, 1004 | 1005 | 1006 | 1015) {
                    self.err(
                        &hloc,
                        format!("ws: close code {code} cannot be sent in a close frame"),
                    );
                }
            }
        }
        for (name, _) in &http.error_statuses {
            let declared = m.errors.iter().chain(&s.errors).any(|e| &e.name == name);
            if !declared {
                self.err(
                    &hloc,
                    format!("error {name:?} is mapped to a status but not declared with error()"),
                );
            }
        }
        for status in http
            .status
            .iter()
            .chain(http.error_statuses.iter().map(|(_, s)| s))
        {
            if !(100..=599).contains(status) {
                self.err(&hloc, format!("status {status} is not an HTTP status code"));
            }
        }
    }

    fn type_(&mut self, loc: &str, ty: &Type) {
        match ty {
            Type::Primitive(_) | Type::ErrorResult => {}
            Type::Array(elem) => self.type_(loc, elem),
            Type::Map(key, value) => {
                if !matches!(key.primitive(), Some(p) if p == Primitive::String || p.is_integer()) {
                    self.err(loc, "map keys must be a string or integer type");
                }
                self.type_(loc, value);
            }
            Type::Object(obj) => self.within(obj.source, |v| v.object(loc, obj, None)),
            Type::User(u) => self.user_type(u),
            Type::Collection(u) => {
                if u.result.is_none() {
                    self.err(
                        loc,
                        format!("collection_of({}) needs a result type", u.name),
                    );
                }
                self.user_type(u);
            }
        }
    }

    fn user_type(&mut self, u: &UserType) {
        if !self.seen_types.insert(u.name.clone()) {
            return;
        }
        self.within(u.source, |v| v.user_type_body(u));
    }

    fn user_type_body(&mut self, u: &UserType) {
        let loc = format!("type {:?}", u.name);
        if !u
            .name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        {
            self.err(&loc, "name must start with a letter");
        }
        self.object(&loc, &u.object, Some(u));
    }

    fn object(&mut self, loc: &str, obj: &Object, owner: Option<&UserType>) {
        let mut names = HashSet::new();
        for attr in &obj.attributes {
            let aloc = format!("{loc} attribute {:?}", attr.name);
            self.within(attr.source, |v| {
                if !names.insert(attr.name.as_str()) {
                    v.err(&aloc, "duplicate attribute name");
                }
                if attr.name.is_empty() {
                    v.err(&aloc, "attribute name must not be empty");
                }
                v.attribute(&aloc, attr);
                v.type_(&aloc, &attr.ty);
            });
        }
        for (i, r) in obj.required.iter().enumerate() {
            if obj.get(r).is_none() {
                self.within(obj.required_sources.get(i).copied(), |v| {
                    v.err(
                        format!("{loc}: required"),
                        format!("required({r:?}) names an unknown attribute"),
                    )
                });
            }
        }
        if let Some(u) = owner {
            if let Some(info) = &u.result {
                let mut seen = BTreeSet::new();
                for view in &info.views {
                    let vloc = format!("{loc} view {:?}", view.name);
                    self.within(view.source, |v| {
                        if !seen.insert(view.name.as_str()) {
                            v.err(&vloc, "duplicate view name");
                        }
                        if view.attributes.is_empty() {
                            v.err(&vloc, "a view must list at least one attribute");
                        }
                        for a in &view.attributes {
                            if obj.get(a).is_none() {
                                v.err(&vloc, format!("view lists unknown attribute {a:?}"));
                            }
                        }
                    });
                }
            }
        }
    }

    fn attribute(&mut self, loc: &str, attr: &Attribute) {
        let v = &attr.validation;
        let prim = attr.ty.primitive();
        let is_string = prim == Some(Primitive::String);
        let has_length = is_string
            || matches!(
                attr.ty,
                Type::Array(_) | Type::Map(..) | Type::Collection(_)
            )
            || prim == Some(Primitive::Bytes);
        if (v.format.is_some() || v.pattern.is_some()) && !is_string {
            self.err(loc, "format and pattern apply to strings only");
        }
        if let Some(p) = &v.pattern {
            if let Err(e) = regex::Regex::new(p) {
                self.err(
                    loc,
                    format!("pattern {p:?} is not a valid regular expression: {e}"),
                );
            }
        }
        if (v.min_length.is_some() || v.max_length.is_some()) && !has_length {
            self.err(
                loc,
                "min_length and max_length apply to strings, bytes, arrays and maps only",
            );
        }
        if let (Some(min), Some(max)) = (v.min_length, v.max_length) {
            if min > max {
                self.err(
                    loc,
                    format!("min_length {min} is greater than max_length {max}"),
                );
            }
        }
        if (v.minimum.is_some() || v.maximum.is_some()) && !prim.is_some_and(Primitive::is_numeric)
        {
            self.err(loc, "minimum and maximum apply to numbers only");
        }
        if let (Some(min), Some(max)) = (v.minimum, v.maximum) {
            let greater = match (min, max) {
                (Bound::Int(a), Bound::Int(b)) => a > b,
                (a, b) => a.as_f64() > b.as_f64(),
            };
            if greater {
                self.err(loc, format!("minimum {min} is greater than maximum {max}"));
            }
        }
        // An integer attribute is checked exactly, so its bounds must be integers.
        if prim.is_some_and(Primitive::is_integer) {
            for (what, bound) in [("minimum", v.minimum), ("maximum", v.maximum)] {
                if let Some(Bound::Float(f)) = bound {
                    self.err(
                        loc,
                        format!(
                            "{what} {f} is not an integer, and the attribute is an {}",
                            prim.map_or("integer", Primitive::goa_name)
                        ),
                    );
                }
            }
        }
        if !v.enum_values.is_empty() {
            match prim {
                Some(p) => {
                    for value in &v.enum_values {
                        if !value_fits(p, value) {
                            self.err(loc, format!("enum value {value} is not a {}", p.goa_name()));
                        }
                    }
                }
                None => self.err(loc, "enum_ applies to primitive types only"),
            }
        }
        if let Some(d) = &attr.default {
            if let Some(p) = prim {
                if !value_fits(p, d) {
                    self.err(loc, format!("default value {d} is not a {}", p.goa_name()));
                }
            }
        }
    }
}

/// Whether a JSON value fits a primitive type.
fn value_fits(p: Primitive, v: &Value) -> bool {
    match p {
        Primitive::Boolean => v.is_boolean(),
        Primitive::Int | Primitive::Int32 | Primitive::Int64 => v.is_i64(),
        Primitive::UInt | Primitive::UInt32 | Primitive::UInt64 => v.is_u64(),
        Primitive::Float32 | Primitive::Float64 => v.is_number(),
        Primitive::String | Primitive::Bytes => v.is_string(),
        Primitive::Any => true,
    }
}

/// Whether a type can travel in a path segment, query param, header or cookie.
fn is_mappable(ty: &Type) -> bool {
    match ty {
        Type::Primitive(p) => *p != Primitive::Any,
        Type::Array(elem) => {
            matches!(elem.primitive(), Some(p) if p != Primitive::Any && p != Primitive::Bytes)
        }
        _ => false,
    }
}

/// `/a/{x}/b` and `/a/{y}/b` are the same route.
fn normalise_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// Service and method names become Rust module and function names.
fn is_identifier(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}
