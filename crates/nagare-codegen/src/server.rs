//! The generated axum server: one handler per method that decodes and validates the
//! request into the payload and runs the security hooks, answering every failure
//! with an HTTP error (Goa's error body, or the designed error's status and body).
//! Streaming methods then upgrade and run on the WebSocket; unary methods answer
//! with their result's JSON.
//!
//! A handler is assembled from small parts, each rendered by its own function:
//! the endpoint's settings and origin check, the payload ([`render_decode`] and
//! its call), the security hooks, then the unary answer or the upgrade.

use nagare_design::{Credential, Location, Primitive, SchemeKind, Service, StreamKind, Type};
use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{Element, MethodInfo};
use crate::names::Scope;
use crate::names::{field_ident, ident};
use crate::types::{attr_type, rust_type};

pub(crate) fn render(service: &Service, methods: &[MethodInfo]) -> TokenStream {
    let routes = methods.iter().flat_map(|m| {
        let f = ident(&format!("handle_{}", m.plain_name()));
        let prefix = service.http.path.clone().unwrap_or_default();
        m.endpoint.routes.iter().map(move |r| {
            let path = format!("{prefix}{}", r.path);
            let verb = ident(&r.verb.as_str().to_lowercase());
            quote!(.route(#path, routing::#verb(#f::<S>)))
        })
    });
    let handlers = methods.iter().map(render_handler);
    let streaming: Vec<_> = methods
        .iter()
        .filter(|m| m.kind.is_streaming())
        .map(|m| m.endpoint_const())
        .collect();
    let metrics = (!streaming.is_empty()).then(|| {
        quote! {
            // Their connections show in the metrics, at zero, before the first one.
            #(nagare::codegen::describe_endpoint(&options, super::endpoints::#streaming);)*
        }
    });
    let decodes = methods.iter().filter_map(render_decode);
    let limited: Vec<&MethodInfo> = methods
        .iter()
        .filter(|m| m.endpoint.failures.is_some())
        .collect();
    let limit_fields = limited.iter().map(|m| {
        let f = failures_field(m);
        let fdoc = format!(
            " Failed `{}` requests per client (the design's `failures`).",
            m.method.name
        );
        quote!(#[doc = #fdoc] #f: nagare::server::FailureLimit,)
    });
    let limit_inits = limited.iter().filter_map(|m| {
        let f = failures_field(m);
        let limit = m.endpoint.failures.as_ref()?;
        let (name, burst, per_minute) = (&m.method.name, limit.burst, limit.per_minute);
        Some(quote!(#f: nagare::server::FailureLimit::per_minute(#name, #burst, #per_minute),))
    });
    let doc = format!(
        " The router serving the `{}` service: serve it with `nagare::ServerOptions::serve`,\n or merge it into an axum app. Streaming endpoints are GETs that upgrade to a\n WebSocket.",
        service.name
    );
    let doc = doc.lines().map(str::to_owned);
    quote! {
        /// The HTTP/WebSocket server of the service.
        pub mod server {
            use std::sync::Arc;

            use nagare::axum::extract::{Request, State};
            use nagare::axum::response::Response;
            use nagare::axum::{routing, Router};

            /// What every handler shares: the service and the server's options.
            struct Shared<S> {
                service: S,
                options: nagare::ServerOptions,
                #(#limit_fields)*
            }

            #(#[doc = #doc])*
            pub fn router<S: super::Service>(service: S, options: nagare::ServerOptions) -> Router {
                #metrics
                let shared = Arc::new(Shared { service, options, #(#limit_inits)* });
                Router::new()
                    #(#routes)*
                    .with_state(shared)
            }

            #(#handlers)*
            #(#decodes)*
        }
    }
}

/// What a method's payload decoder reads from the request.
struct Inputs {
    /// Headers, cookies or basic credentials.
    parts: bool,
    /// Path or query parameters.
    params: bool,
    /// The JSON body.
    body: bool,
    /// Some element can fail (missing, or not of its type).
    fallible: bool,
}

impl Inputs {
    fn of(m: &MethodInfo) -> Self {
        let elems = m.elements();
        let at = |locations: &[Location]| elems.iter().any(|e| locations.contains(&e.location));
        Inputs {
            parts: at(&[Location::Header, Location::Cookie, Location::BasicAuth]),
            params: at(&[Location::Path, Location::Query]),
            body: at(&[Location::Body]),
            fallible: elems.iter().any(can_fail),
        }
    }
}

/// Whether reading an element can add an error: it is required, comes from a
/// JSON body, or must be parsed.
fn can_fail(e: &Element) -> bool {
    let parsed = |t: &Type| t.primitive().is_some_and(|p| p != Primitive::String);
    e.required
        || e.location == Location::Body
        || match &e.attr.ty {
            Type::Array(elem) => parsed(elem),
            t => parsed(t),
        }
}

fn render_handler(m: &MethodInfo) -> TokenStream {
    let handler = ident(&format!("handle_{}", m.plain_name()));
    let unary = m.kind == StreamKind::Unary;
    let hdoc = if unary {
        format!(
            " `{} {}`: the `{}` method.",
            m.route.verb.as_str(),
            m.route.path,
            m.method.name
        )
    } else {
        format!(
            " `GET {}`: upgrades to the `{}` stream.",
            m.route.path, m.method.name
        )
    };
    let inputs = Inputs::of(m);
    let statuses = if unary || !m.security.is_empty() {
        m.statuses_const()
    } else {
        quote!()
    };
    let bearer = bearer_from_subprotocol(m);
    let mutates_parts = !unary || inputs.params || !bearer.is_empty();
    // A unary method reads the request's head only for its payload (or its
    // failure limit's keys): bound only then, so the code has no unused name.
    let uses_parts = !unary || inputs.parts || inputs.params || m.endpoint.failures.is_some();
    let parts = match (uses_parts, mutates_parts) {
        (false, _) => quote!(_),
        (true, true) => quote!(mut parts),
        (true, false) => quote!(parts),
    };
    let body = if inputs.body { quote!(body) } else { quote!(_) };
    let (request, split) = match uses_parts || inputs.body {
        true => (
            quote!(request),
            quote!(let (#parts, #body) = request.into_parts();),
        ),
        false => (quote!(_request), quote!()),
    };
    let settings = if unary { quote!() } else { render_settings(m) };
    let payload = render_payload(m, &inputs);
    let auth = render_auth(m);
    let answer = if unary {
        render_unary_answer(m)
    } else {
        render_upgrade(m)
    };
    let answer = match &m.endpoint.failures {
        Some(limit) => {
            let f = failures_field(m);
            let keys = limit.by.iter().map(|a| {
                let field = field_ident(a);
                quote!((#a, &payload.#field))
            });
            quote! {
                let failure_keys = nagare::server::FailureLimit::keys(&parts, &[#(#keys),*]);
                if let Err(refused) = shared.#f.check(&failure_keys) {
                    return refused;
                }
                // Answered in a block, so that a failure (401, 403) is counted
                // whichever step answered it.
                let response = async { #auth #answer }.await;
                shared.#f.record(&failure_keys, &response);
                response
            }
        }
        None => quote!(#auth #answer),
    };
    quote! {
        #[doc = #hdoc]
        async fn #handler<S: super::Service>(State(shared): State<Arc<Shared<S>>>, #request: Request) -> Response {
            #statuses
            #split
            #settings
            #bearer
            #payload
            #answer
        }
    }
}

/// The `Shared` field holding a method's failure limit.
fn failures_field(m: &MethodInfo) -> proc_macro2::Ident {
    ident(&format!("{}_failures", m.plain_name()))
}

/// The endpoint's settings (code's, else the design's `ws` block on the
/// server's), with `nagare.v1` for a resumable stream, and the origin check that
/// comes before anything else.
fn render_settings(m: &MethodInfo) -> TokenStream {
    let endpoint = m.endpoint_const();
    let design = ws_settings(m);
    let config = if m.is_resumable() {
        // The resume extension is part of the design: settings from code keep it.
        quote! {
            let mut config = shared.options.endpoint_config(super::endpoints::#endpoint, #design);
            config.enable_resume();
        }
    } else {
        quote!(let config = shared.options.endpoint_config(super::endpoints::#endpoint, #design);)
    };
    quote! {
        #config
        if let Some(refusal) = nagare::codegen::response::check_origin(&parts, &config) {
            return refusal;
        }
    }
}

/// Browsers cannot set headers on a handshake: a JWT read from `Authorization`
/// may also come as a `nagare.bearer.<token>` subprotocol.
fn bearer_from_subprotocol(m: &MethodInfo) -> TokenStream {
    let jwt_in_authorization = m.kind.is_streaming()
        && m.security.iter().any(|(s, _)| s.kind == SchemeKind::Jwt)
        && m.elements().iter().any(|e| {
            e.attr.credential == Some(Credential::Token)
                && e.location == Location::Header
                && e.wire.eq_ignore_ascii_case("authorization")
        });
    if jwt_in_authorization {
        quote!(nagare::codegen::request::token_from_subprotocol(&mut parts);)
    } else {
        quote!()
    }
}

/// Statements that decode the payload into `payload`, answering a failure with
/// Goa's error body.
fn render_payload(m: &MethodInfo, inputs: &Inputs) -> TokenStream {
    if m.method.payload.is_none() {
        return quote!();
    }
    let decode = ident(&format!("decode_{}", m.plain_name()));
    let params = if inputs.params {
        quote!(let params = nagare::codegen::request::RequestParams::from_parts(&mut parts).await;)
    } else {
        quote!()
    };
    let body = if inputs.body {
        quote! {
            let body = match nagare::codegen::response::read_body(body).await {
                Ok(body) => body,
                Err(response) => return response,
            };
        }
    } else {
        quote!()
    };
    let mut args = Vec::new();
    if inputs.parts {
        args.push(quote!(&parts));
    }
    if inputs.params {
        args.push(quote!(&params));
    }
    if inputs.body {
        args.push(quote!(body));
    }
    quote! {
        #params
        #body
        let payload = match #decode(#(#args),*) {
            Ok(payload) => payload,
            Err(e) => return nagare::codegen::response::invalid_payload(e),
        };
    }
}

/// Statements that run the method's security hooks on `payload`, answering a
/// refusal with the hook's error.
fn render_auth(m: &MethodInfo) -> TokenStream {
    let statuses = m.statuses_expr();
    let mut accepted = Vec::new();
    let checks: Vec<TokenStream> = m
        .security
        .iter()
        .map(|(scheme, scopes)| {
            let name = &scheme.name;
            let (scheme_value, call) = match scheme.kind {
                SchemeKind::Basic => {
                    let user = m.credential(&Credential::Username);
                    let password = m.credential(&Credential::Password);
                    (
                        quote!(nagare::security::BasicScheme { name: #name }),
                        quote!(shared.service.basic_auth(#user, #password, &scheme)),
                    )
                }
                SchemeKind::Jwt => {
                    let token = m.credential(&Credential::Token);
                    let all: Vec<&str> = scheme.scopes.iter().map(|(n, _)| n.as_str()).collect();
                    // A stream lives no longer than its token: its `exp` closes it.
                    if m.kind.is_streaming() {
                        accepted.push(
                            quote!(nagare::codegen::request::expire_with_jwt(&mut parts, #token);),
                        );
                    }
                    (
                        quote! {
                            nagare::security::JwtScheme {
                                name: #name,
                                scopes: &[#(#all),*],
                                required_scopes: &[#(#scopes),*],
                            }
                        },
                        quote!(shared.service.jwt_auth(#token, &scheme)),
                    )
                }
                SchemeKind::ApiKey => {
                    let key = m.credential(&Credential::ApiKey {
                        scheme: scheme.name.clone(),
                    });
                    (
                        quote!(nagare::security::ApiKeyScheme { name: #name }),
                        quote!(shared.service.api_key_auth(#key, &scheme)),
                    )
                }
            };
            quote! {
                let scheme = #scheme_value;
                if let Err(e) = #call.await {
                    return nagare::codegen::http_response(&e, #statuses);
                }
            }
        })
        .collect();
    quote!(#(#checks)* #(#accepted)*)
}

/// A unary method's call and its answer: the result's JSON (or no content), or
/// the error's HTTP response.
fn render_unary_answer(m: &MethodInfo) -> TokenStream {
    let method_fn = m.fn_ident();
    let statuses = m.statuses_expr();
    let status = m.success_status();
    let arg = m.method.payload.as_ref().map(|_| quote!(payload));
    let respond = if m.method.result.is_some() {
        let view = match m.pinned_view() {
            Some(v) => quote!(Some(#v)),
            None => quote!(None),
        };
        quote!(Ok(result) => nagare::codegen::response::result_response(#status, &result, #view))
    } else {
        quote!(Ok(()) => nagare::codegen::response::empty_response(#status))
    };
    quote! {
        match shared.service.#method_fn(#arg).await {
            #respond,
            Err(e) => nagare::codegen::http_response(&e, #statuses),
        }
    }
}

/// The upgrade: the result view (chosen before the upgrade, sent in
/// `Goa-View`), then the service method on the connection's task.
fn render_upgrade(m: &MethodInfo) -> TokenStream {
    let method_fn = m.fn_ident();
    let endpoint = m.endpoint_const();
    let stream = m.server_stream();
    let (choose, view_header, view_arg) = match (m.viewed(Scope::Child), m.pinned_view()) {
        (Some(viewed), _) => {
            let requested = match m.view_attribute() {
                Some(true) => quote!(Some(payload.view.as_str())),
                Some(false) => quote!(payload.view.as_deref()),
                None => quote!(None),
            };
            (
                quote! {
                    // Checked against the views before the upgrade.
                    let view = nagare::codegen::response::chosen_view(#requested, #viewed::VIEWS);
                },
                quote!(Some(view)),
                quote!(Some(view.into())),
            )
        }
        (None, Some(pinned)) => (quote!(), quote!(None), quote!(Some(#pinned.into()))),
        (None, None) => (quote!(), quote!(None), quote!(None)),
    };
    let make_stream = match m.kind {
        StreamKind::Client => quote!(super::#stream::new(conn)),
        _ => quote!(super::#stream::new(conn, #view_arg)),
    };
    let payload = m.method.payload.as_ref().map(|_| quote!(payload,));
    quote! {
        #choose
        let task = Arc::clone(&shared);
        nagare::codegen::response::upgrade_with(
            &mut parts,
            &shared.options,
            config,
            super::endpoints::#endpoint,
            #view_header,
            move |conn| async move { task.service.#method_fn(#payload #make_stream).await },
        )
    }
}

/// A closure applying the design's `ws` block to a `ConnConfig`.
fn ws_settings(m: &MethodInfo) -> TokenStream {
    let Some(ws) = &m.endpoint.ws else {
        return quote!(|_| {});
    };
    let mut sets = Vec::new();
    let dur = |d: std::time::Duration| {
        let ms = d.as_millis() as u64;
        quote!(::std::time::Duration::from_millis(#ms))
    };
    if ws.no_heartbeat {
        sets.push(quote!(c.ping_interval = None;));
    } else if let Some(d) = ws.ping_interval {
        let d = dur(d);
        sets.push(quote!(c.ping_interval = Some(#d);));
    }
    for (field, value) in [
        ("pong_timeout", ws.pong_timeout),
        ("write_timeout", ws.write_timeout),
    ] {
        if let Some(d) = value {
            let f = ident(field);
            let d = dur(d);
            sets.push(quote!(c.#f = #d;));
        }
    }
    if let Some(d) = ws.idle_timeout {
        let d = dur(d);
        sets.push(quote!(c.idle_timeout = Some(#d);));
    }
    for (field, value) in [
        ("max_message_size", ws.max_message_size),
        ("max_frame_size", ws.max_frame_size),
    ] {
        if let Some(n) = value {
            let f = ident(field);
            sets.push(quote!(c.ws.#f = #n;));
        }
    }
    for (field, value) in [
        ("inbound_queue", ws.inbound_queue),
        ("outbound_queue", ws.outbound_queue),
        ("outbound_bytes", ws.outbound_bytes),
    ] {
        if let Some(n) = value {
            let f = ident(field);
            sets.push(quote!(c.#f = #n;));
        }
    }
    for (field, value) in [
        ("max_received_messages", ws.max_received_messages),
        ("max_received_bytes", ws.max_received_bytes),
    ] {
        if let Some(n) = value {
            let f = ident(field);
            sets.push(quote!(c.#f = Some(#n);));
        }
    }
    if let Some(n) = ws.max_connections {
        sets.push(quote!(c.max_connections = Some(#n);));
    }
    if let Some(n) = ws.message_rate {
        sets.push(quote!(c.message_rate = Some(nagare::Rate::per_second(#n));));
    }
    if let Some(p) = ws.slow_consumer {
        let policy = match p {
            nagare_design::SlowConsumerPolicy::Wait => quote!(nagare::SlowConsumer::Wait),
            nagare_design::SlowConsumerPolicy::DropOldest => {
                quote!(nagare::SlowConsumer::DropOldest)
            }
            nagare_design::SlowConsumerPolicy::Disconnect(code) => {
                quote!(nagare::SlowConsumer::Disconnect(#code))
            }
        };
        sets.push(quote!(c.slow_consumer = #policy;));
    }
    if let Some((level, threshold)) = ws.compression {
        sets.push(quote!(c.enable_compression(#level, #threshold);));
    }
    if let Some(protocols) = &ws.subprotocols {
        sets.push(quote!(c.subprotocols = vec![#(String::from(#protocols)),*];));
    }
    if ws.require_subprotocol {
        sets.push(quote!(c.require_subprotocol = true;));
    }
    if let Some(origins) = &ws.origins {
        if origins.iter().any(|o| o == "*") {
            sets.push(quote!(c.origins = nagare::OriginPolicy::Any;));
        } else {
            sets.push(
                quote!(c.origins = nagare::OriginPolicy::Allow(vec![#(String::from(#origins)),*]);),
            );
        }
    }
    quote!(|c: &mut nagare::ConnConfig| { #(#sets)* })
}

/// The function that reads a method's payload from the request, with Goa's
/// errors; `None` for a method without a payload.
fn render_decode(m: &MethodInfo) -> Option<TokenStream> {
    let payload = m.payload(Scope::Child)?;
    let decode = ident(&format!("decode_{}", m.plain_name()));
    let inputs = Inputs::of(m);
    let elems = m.elements();
    let mut params = Vec::new();
    if inputs.parts {
        params.push(quote!(parts: &nagare::axum::http::request::Parts));
    }
    if inputs.params {
        params.push(quote!(params: &nagare::codegen::request::RequestParams));
    }
    if inputs.body {
        params.push(quote!(mut body: nagare::codegen::serde_json::Map<String, nagare::codegen::serde_json::Value>));
    }
    let basic = if elems.iter().any(|e| e.location == Location::BasicAuth) {
        quote!(let basic = nagare::codegen::request::basic_credentials(parts);)
    } else {
        quote!()
    };
    let (errs, finish) = if inputs.fallible {
        (
            quote!(let mut errs = nagare::ValidationErrors::new();),
            quote!(errs.finish()?;),
        )
    } else {
        (quote!(), quote!())
    };
    let reads = elems.iter().map(read_element);
    let fields = elems.iter().map(|e| field_ident(&e.attr.name));
    let view_check = match (m.viewed(Scope::Child), m.view_attribute()) {
        (Some(viewed), Some(required)) => {
            let v = if required {
                quote!(Some(payload.view.as_str()))
            } else {
                quote!(payload.view.as_deref())
            };
            quote! {
                if let Some(view) = #v {
                    nagare::codegen::validation::enum_("view", &view, #viewed::VIEWS)?;
                }
            }
        }
        _ => quote!(),
    };
    let doc = format!(" Reads the `{}` payload from the request.", m.method.name);
    Some(quote! {
        #[doc = #doc]
        fn #decode(#(#params),*) -> Result<#payload, nagare::ValidationError> {
            #errs
            #basic
            #(#reads)*
            #finish
            let payload = #payload { #(#fields),* };
            nagare::Validate::validate(&payload)?;
            #view_check
            Ok(payload)
        }
    })
}

/// `let <field> = ...;` reading one element, with Goa's errors.
fn read_element(e: &Element) -> TokenStream {
    let id = field_ident(&e.attr.name);
    let wire = &e.wire;
    let name = &e.attr.name;
    let ctx = e.location.goa_context();
    let missing_name = if e.location == Location::BasicAuth {
        "Authorization"
    } else {
        name.as_str()
    };
    let absent = if e.required {
        quote!({
            errs.push(nagare::codegen::request::missing(#missing_name, #ctx));
            Default::default()
        })
    } else if let Some(d) = e.default_value() {
        d
    } else {
        quote!(None)
    };
    let wrap = |v: TokenStream| if e.plain { v } else { quote!(Some(#v)) };
    let parsed = |ty: &Type, raw: TokenStream| {
        let goa = ty.primitive().map_or("any", Primitive::goa_name);
        let t = rust_type(ty, "", Scope::Child);
        quote! {
            match nagare::codegen::request::parse::<#t>(#raw, #name, #goa) {
                Ok(v) => v,
                Err(e) => {
                    errs.push(e);
                    Default::default()
                }
            }
        }
    };
    match (e.location, &e.attr.ty) {
        (Location::BasicAuth, _) => {
            let password = e.attr.credential == Some(Credential::Password);
            let present = wrap(quote!(value.clone()));
            let pattern = if password {
                quote!(Some((_, value)))
            } else {
                quote!(Some((value, _)))
            };
            // A missing header is reported once, on the user name.
            let absent = if password && e.required {
                quote!(Default::default())
            } else {
                absent
            };
            quote! {
                let #id = match &basic {
                    #pattern => #present,
                    None => #absent,
                };
            }
        }
        (Location::Body, _) => {
            let t = attr_type(&e.owner, e.attr, Scope::Child);
            let present = wrap(quote!(v));
            quote! {
                let #id = match body.remove(#wire) {
                    Some(raw) if !raw.is_null() => match nagare::codegen::request::from_json::<#t>(raw, #name) {
                        Ok(v) => #present,
                        Err(e) => {
                            errs.push(e);
                            Default::default()
                        }
                    },
                    _ => #absent,
                };
            }
        }
        (_, Type::Array(elem)) => {
            let (cookie, all) = match e.location {
                Location::Query => (quote!(), quote!(params.query_all(#wire))),
                Location::Header => (
                    quote!(),
                    quote!(nagare::codegen::request::header_all(parts, #wire)),
                ),
                Location::Path => (quote!(), quote!(params.path(#wire).into_iter().collect())),
                _ => (
                    quote!(let cookie = nagare::codegen::request::cookie(parts, #wire);),
                    quote!(cookie.as_deref().into_iter().collect()),
                ),
            };
            let convert = match elem.primitive() {
                Some(Primitive::String) => quote!(raw.iter().map(|s| s.to_string()).collect()),
                Some(p) => {
                    let goa = p.goa_name();
                    let ty = rust_type(elem, "", Scope::Child);
                    quote! {
                        match nagare::codegen::request::parse_all::<#ty>(&raw, #name, #goa) {
                            Ok(v) => v,
                            Err(e) => {
                                errs.push(e);
                                Default::default()
                            }
                        }
                    }
                }
                None => quote!(Default::default()),
            };
            let present = wrap(convert);
            quote! {
                #cookie
                let raw: Vec<&str> = #all;
                let #id = if raw.is_empty() { #absent } else { #present };
            }
        }
        (_, ty) => {
            let raw = match e.location {
                Location::Path => quote!(params.path(#wire)),
                Location::Query => quote!(params.query(#wire)),
                // Credentials in headers lose their scheme word, as in Goa.
                Location::Header if e.attr.credential.is_some() => {
                    quote!(nagare::codegen::request::header(parts, #wire).map(nagare::codegen::request::strip_scheme))
                }
                Location::Header => quote!(nagare::codegen::request::header(parts, #wire)),
                _ => quote!(nagare::codegen::request::cookie(parts, #wire).as_deref()),
            };
            if let Some(en) = e.enum_type() {
                // A value the design does not list is Goa's invalid_enum_value.
                let t = en.path(Scope::Child);
                let value = quote! {
                    match nagare::codegen::request::parse_enum::<#t>(s) {
                        Ok(v) => v,
                        Err(e) => {
                            errs.push(e);
                            Default::default()
                        }
                    }
                };
                let present = wrap(value);
                return quote! {
                    let #id = match #raw {
                        Some(s) if !s.is_empty() => #present,
                        _ => #absent,
                    };
                };
            }
            match ty.primitive() {
                Some(Primitive::String) => {
                    let present = wrap(quote!(s.to_owned()));
                    quote! {
                        let #id = match #raw {
                            Some(s) if !s.is_empty() => #present,
                            _ => #absent,
                        };
                    }
                }
                // Optional, without a default: absent is `None`.
                _ if !e.plain => {
                    let value = parsed(ty, quote!(s));
                    quote!(let #id = #raw.map(|s| #value);)
                }
                _ => {
                    let present = parsed(ty, quote!(s));
                    quote! {
                        let #id = match #raw {
                            Some(s) => #present,
                            None => #absent,
                        };
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use nagare_design::*;

    use super::*;

    /// A design with one method built by `method`, and the generator's view of it.
    fn with_method(build: impl FnOnce(&mut Method)) -> Api {
        api("x", |a| {
            a.jwt_security("jwt", |s| {
                s.scope("read", "");
            });
            a.service("chat", |s| {
                s.method("watch", build);
            });
        })
    }

    fn info(api: &Api) -> MethodInfo<'_> {
        let service = &api.services[0];
        MethodInfo::new(api, service, &service.methods[0]).expect("a valid method")
    }

    fn text(tokens: TokenStream) -> String {
        tokens.to_string()
    }

    fn stream(m: &mut Method) {
        m.streaming_result(|r| {
            r.attribute("n", INT, "");
        });
    }

    #[test]
    fn inputs_name_only_what_the_payload_reads() {
        let api = with_method(|m| {
            stream(m);
            m.payload(|p| {
                p.attribute("room", STRING, "");
                p.attribute("limit", INT, "");
                p.attribute("tag", STRING, "");
            });
            m.http(|h| {
                h.get("/rooms/{room}").param("limit").header("tag:X-Tag");
            });
        });
        let m = info(&api);
        let inputs = Inputs::of(&m);
        assert!(inputs.parts && inputs.params && !inputs.body);
        // Nothing required, but `limit` must parse.
        assert!(inputs.fallible);
        let elems = m.elements();
        assert_eq!(
            elems.iter().map(can_fail).collect::<Vec<_>>(),
            [false, true, false]
        );
    }

    #[test]
    fn a_method_without_a_payload_decodes_nothing() {
        let api = with_method(|m| {
            stream(m);
            m.http(|h| {
                h.get("/watch");
            });
        });
        let m = info(&api);
        assert!(render_payload(&m, &Inputs::of(&m)).is_empty());
        assert!(render_decode(&m).is_none());
        assert!(render_auth(&m).is_empty());
    }

    #[test]
    fn settings_check_the_origin_and_keep_resume_on() {
        let api = with_method(|m| {
            stream(m);
            m.room(|_| {});
            m.http(|h| {
                h.get("/watch");
            });
        });
        let settings = text(render_settings(&info(&api)));
        let resume = settings.find("enable_resume").expect("nagare.v1 on");
        let origin = settings.find("check_origin").expect("origin checked");
        assert!(
            resume < origin,
            "the origin is checked on the final settings"
        );
    }

    #[test]
    fn the_auth_hook_gets_the_credential_and_answers_with_the_method_statuses() {
        let api = with_method(|m| {
            stream(m);
            m.security("jwt", ["read"]);
            m.payload(|p| {
                p.token("token", STRING, "");
                p.required(["token"]);
            });
            m.error("denied", STRING, "");
            m.http(|h| {
                h.get("/watch").error_response("denied", 401);
            });
        });
        let m = info(&api);
        let auth = text(render_auth(&m));
        assert!(
            auth.contains("jwt_auth (payload . token . as_str () , & scheme)"),
            "{auth}"
        );
        assert!(auth.contains("required_scopes : & [\"read\"]"), "{auth}");
        assert!(auth.contains("http_response (& e , STATUSES)"), "{auth}");
        // A JWT in Authorization may also come as a subprotocol.
        assert!(text(bearer_from_subprotocol(&m)).contains("token_from_subprotocol"));
    }

    #[test]
    fn the_upgrade_sends_the_chosen_view_or_none() {
        let metric = result_type("application/vnd.metric", |r| {
            r.attribute("v", INT, "");
            r.view("tiny", |v| {
                v.attribute("v");
            });
        });
        let api = with_method(|m| {
            m.streaming_result_type(&metric);
            m.payload(|p| {
                p.attribute("view", STRING, "");
            });
            m.http(|h| {
                h.get("/watch").param("view");
            });
        });
        let upgrade = text(render_upgrade(&info(&api)));
        assert!(
            upgrade
                .contains("chosen_view (payload . view . as_deref () , super :: Metric :: VIEWS)"),
            "{upgrade}"
        );
        assert!(upgrade.contains("Some (view) ,"), "{upgrade}");
        let plain = with_method(|m| {
            stream(m);
            m.http(|h| {
                h.get("/watch");
            });
        });
        let upgrade = text(render_upgrade(&info(&plain)));
        assert!(
            !upgrade.contains("chosen_view") && upgrade.contains("None ,"),
            "{upgrade}"
        );
    }
}
