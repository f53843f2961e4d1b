//! The generated axum server: one handler per method that decodes and validates the
//! request into the payload and runs the security hooks, answering every failure
//! with an HTTP error (Goa's error body, or the designed error's status and body).
//! Streaming methods then upgrade and run on the WebSocket; unary methods answer
//! with their result's JSON.

use nagare_design::{Credential, Location, Primitive, SchemeKind, Service, StreamKind, Type, Verb};
use proc_macro2::TokenStream;
use quote::quote;

use crate::names::{field_ident, ident};
use crate::service::{element_default, element_is_plain, elements, Element, MethodInfo};
use crate::types::rust_type;

/// `echo` -> `echo`, `type` -> `type` (without `r#`), for derived names.
pub(crate) fn plain_name(m: &MethodInfo) -> String {
    field_ident(&m.method.name)
        .to_string()
        .trim_start_matches("r#")
        .to_owned()
}

pub(crate) fn render(service: &Service, methods: &[MethodInfo]) -> TokenStream {
    let routes = methods.iter().flat_map(|m| {
        let f = ident(&format!("handle_{}", plain_name(m)));
        let prefix = service.http.path.clone().unwrap_or_default();
        m.endpoint.routes.iter().map(move |r| {
            let path = format!("{prefix}{}", r.path);
            let verb = ident(&r.verb.as_str().to_lowercase());
            quote!(.route(#path, nagare::export::axum::routing::#verb(#f::<S>)))
        })
    });
    let handlers = methods.iter().map(render_handler);
    let doc = format!(
        " The router serving the `{}` service: mount it in an axum app or serve it\n with `axum::serve` on a `nagare::server::bind` listener (TCP_NODELAY).\n Streaming endpoints are GETs that upgrade to a WebSocket.",
        service.name
    );
    quote! {
        /// The HTTP/WebSocket server of the service.
        pub mod server {
            use super::*;

            /// What every handler shares.
            struct State<S> {
                service: ::std::sync::Arc<S>,
                options: nagare::ServerOptions,
            }

            #[doc = #doc]
            pub fn router<S: Service>(service: ::std::sync::Arc<S>, options: nagare::ServerOptions) -> nagare::export::axum::Router {
                let state = ::std::sync::Arc::new(State { service, options });
                nagare::export::axum::Router::new()
                    #(#routes)*
                    .with_state(state)
            }

            #(#handlers)*
        }
    }
}

/// Statements that run the method's security hooks on `payload`, returning the
/// error's HTTP response on refusal.
fn render_auth(m: &MethodInfo) -> TokenStream {
    let checks = m.security.iter().map(|(scheme, scopes)| {
        let name = &scheme.name;
        let obj = m.method.payload.as_ref().and_then(Type::object);
        let arg = |c: Credential| {
            let attr = obj.and_then(|o| o.credential_attribute(&c));
            match attr {
                Some(a) => {
                    let f = field_ident(&a.name);
                    if obj.is_some_and(|o| crate::types::is_plain(o, a)) {
                        quote!(&payload.#f)
                    } else {
                        quote!(payload.#f.as_deref().unwrap_or_default())
                    }
                }
                None => quote!(""),
            }
        };
        let call = match scheme.kind {
            SchemeKind::Basic => {
                let user = arg(Credential::Username);
                let password = arg(Credential::Password);
                quote! {
                    let scheme = nagare::security::BasicScheme { name: #name };
                    service.basic_auth(#user, #password, &scheme).await
                }
            }
            SchemeKind::Jwt => {
                let token = arg(Credential::Token);
                let all: Vec<&str> = scheme.scopes.iter().map(|(n, _)| n.as_str()).collect();
                quote! {
                    let scheme = nagare::security::JwtScheme {
                        name: #name,
                        scopes: &[#(#all),*],
                        required_scopes: &[#(#scopes),*],
                    };
                    service.jwt_auth(#token, &scheme).await
                }
            }
            SchemeKind::ApiKey => {
                let key = arg(Credential::ApiKey {
                    scheme: scheme.name.clone(),
                });
                quote! {
                    let scheme = nagare::security::ApiKeyScheme { name: #name };
                    service.api_key_auth(#key, &scheme).await
                }
            }
        };
        quote! {
            let allowed = { #call };
            if let Err(e) = allowed {
                return e.to_http_response(STATUSES);
            }
        }
    });
    quote!(#(#checks)*)
}

fn render_handler(m: &MethodInfo) -> TokenStream {
    let name = plain_name(m);
    let handler = ident(&format!("handle_{name}"));
    let decode = ident(&format!("decode_{name}"));
    let method_fn = field_ident(&m.method.name);
    let service_name = &m.service.name;
    let method_name = &m.method.name;
    let unary = m.kind == StreamKind::Unary;
    let statuses = if unary || !m.security.is_empty() {
        m.statuses_const()
    } else {
        quote!()
    };
    let auth = render_auth(m);
    let has_body = elements(m).iter().any(|e| e.location == Location::Body);
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
    let (decode_fn, payload_stmt, payload_arg) = match &m.payload {
        Some(p) => {
            let body_arg = if has_body { quote!(body) } else { quote!() };
            let read_body = if has_body {
                quote! {
                    let body = match nagare::server::read_body(body).await {
                        Ok(b) => b,
                        Err(response) => return response,
                    };
                }
            } else {
                quote!()
            };
            (
                render_decode(m, &decode, p, has_body),
                quote! {
                    let params = nagare::request::RequestParams::from_parts(&mut parts).await;
                    #read_body
                    let payload = match #decode(&parts, &params, #body_arg) {
                        Ok(p) => p,
                        Err(e) => return nagare::export::axum::response::IntoResponse::into_response(nagare::GoaError::from(e)),
                    };
                },
                quote!(payload,),
            )
        }
        None => (quote!(), quote!(), quote!()),
    };
    let body_param = if has_body {
        quote!(body)
    } else {
        quote!(_body)
    };
    let origin = if unary {
        quote!()
    } else {
        let design = ws_settings(m);
        // The resume extension is part of the design: settings from code keep it.
        let config = if m.method.resume.is_some() {
            quote! {
                let mut config = state.options.endpoint_config(endpoint, #design);
                nagare::resume::enable(&mut config);
            }
        } else {
            quote!(let config = state.options.endpoint_config(endpoint, #design);)
        };
        quote! {
            let endpoint = nagare::EndpointName { service: #service_name, method: #method_name };
            #config
            if let Some(refusal) = nagare::server::check_origin(&parts, &config) {
                return refusal;
            }
        }
    };
    // Browsers cannot set headers on a handshake: a JWT read from `Authorization`
    // may also come as a `nagare.bearer.<token>` subprotocol.
    let jwt_in_authorization = !unary
        && m.security.iter().any(|(s, _)| s.kind == SchemeKind::Jwt)
        && elements(m).iter().any(|e| {
            e.attr.credential == Some(Credential::Token)
                && e.location == Location::Header
                && e.wire.eq_ignore_ascii_case("authorization")
        });
    let bearer = if jwt_in_authorization {
        quote!(nagare::security::token_from_subprotocol(&mut parts);)
    } else {
        quote!()
    };
    let head = quote! {
        #statuses
        let (mut parts, #body_param) = request.into_parts();
        #origin
        #bearer
        #payload_stmt
        let service = state.service.clone();
        #auth
    };
    let body = if unary {
        let status = m
            .endpoint
            .status
            .unwrap_or(if m.method.result.is_some() { 200 } else { 204 });
        let respond = if m.method.result.is_some() {
            let view = match &m.pinned_view {
                Some(v) => quote!(Some(#v)),
                None => quote!(None),
            };
            quote!(Ok(result) => nagare::server::result_response(#status, &result, #view))
        } else {
            quote!(Ok(()) => nagare::server::empty_response(#status))
        };
        quote! {
            #head
            match service.#method_fn(#payload_arg).await {
                #respond,
                Err(e) => e.to_http_response(STATUSES),
            }
        }
    } else {
        let stream = ident(&format!("{}ServerStream", m.pascal));
        let view_stmt = match &m.viewed {
            Some(viewed) => {
                let chosen = match view_attribute(m) {
                    Some(true) => quote!(Some(payload.view.as_str())),
                    Some(false) => quote!(payload.view.as_deref()),
                    None => quote!(None),
                };
                quote! {
                    // Checked against the views before the upgrade, so this finds it.
                    let requested: Option<&str> = #chosen;
                    let view: &'static str = requested
                        .and_then(|v| #viewed::VIEWS.iter().copied().find(|known| *known == v))
                        .unwrap_or(#viewed::VIEWS[0]);
                    headers.insert("goa-view", nagare::export::axum::http::HeaderValue::from_static(view));
                }
            }
            None => quote!(),
        };
        let view_arg = m.view_expr(quote!(view));
        let make_stream = match m.kind {
            StreamKind::Client => quote!(#stream::new(conn)),
            _ => quote!(#stream::new(conn, #view_arg)),
        };
        quote! {
            #head
            #[allow(unused_mut)]
            let mut headers = nagare::export::axum::http::HeaderMap::new();
            #view_stmt
            nagare::server::upgrade_with(&mut parts, &state.options, config, endpoint, headers, move |conn| async move {
                let stream = #make_stream;
                service.#method_fn(#payload_arg stream).await
            })
        }
    };
    quote! {
        #decode_fn

        #[doc = #hdoc]
        async fn #handler<S: Service>(
            nagare::export::axum::extract::State(state): nagare::export::axum::extract::State<::std::sync::Arc<State<S>>>,
            request: nagare::export::axum::extract::Request,
        ) -> nagare::export::axum::response::Response {
            #body
        }
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
    ] {
        if let Some(n) = value {
            let f = ident(field);
            sets.push(quote!(c.#f = #n;));
        }
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

/// `Some(required)` when the payload has a string `view` attribute choosing the
/// result view.
pub(crate) fn view_attribute(m: &MethodInfo) -> Option<bool> {
    let obj = m.method.payload.as_ref().and_then(Type::object)?;
    let attr = obj.get("view")?;
    (attr.ty.primitive() == Some(Primitive::String)).then(|| crate::types::is_plain(obj, attr))
}

fn render_decode(
    m: &MethodInfo,
    decode: &proc_macro2::Ident,
    payload: &TokenStream,
    has_body: bool,
) -> TokenStream {
    let elems = elements(m);
    let basic = elems.iter().any(|e| e.location == Location::BasicAuth);
    let basic_stmt = if basic {
        quote!(let basic = nagare::security::basic_credentials(parts);)
    } else {
        quote!()
    };
    let reads = elems.iter().map(|e| read_element(m, e));
    let fields = elems.iter().map(|e| field_ident(&e.attr.name));
    let view_check = match (&m.viewed, view_attribute(m)) {
        (Some(viewed), Some(required)) => {
            let v = if required {
                quote!(Some(payload.view.as_str()))
            } else {
                quote!(payload.view.as_deref())
            };
            quote! {
                if let Some(v) = #v {
                    nagare::validation::enum_("view", &v, #viewed::VIEWS)?;
                }
            }
        }
        _ => quote!(),
    };
    let body_param = if has_body {
        quote!(body: nagare::export::serde_json::Map<String, nagare::export::serde_json::Value>)
    } else {
        quote!()
    };
    let body_mut = if has_body {
        quote!(let mut body = body;)
    } else {
        quote!()
    };
    let doc = format!(" Reads the `{}` payload from the request.", m.method.name);
    let _ = Verb::Get;
    quote! {
        #[doc = #doc]
        #[allow(unused_variables)]
        fn #decode(
            parts: &nagare::export::axum::http::request::Parts,
            params: &nagare::request::RequestParams,
            #body_param
        ) -> Result<#payload, nagare::ValidationError> {
            #[allow(unused_mut)]
            let mut errs = nagare::ValidationErrors::new();
            #body_mut
            #basic_stmt
            #(#reads)*
            errs.finish()?;
            let payload = #payload { #(#fields),* };
            nagare::Validate::validate(&payload)?;
            #view_check
            Ok(payload)
        }
    }
}

/// `let <field> = ...;` reading one element, with Goa's errors.
fn read_element(m: &MethodInfo, e: &Element) -> TokenStream {
    let id = field_ident(&e.attr.name);
    let wire = &e.wire;
    let name = &e.attr.name;
    let ctx = e.location.goa_context();
    let plain = element_is_plain(m, e);
    let missing_name = if e.location == Location::BasicAuth {
        "Authorization"
    } else {
        name.as_str()
    };
    let absent = if e.required {
        quote!({ errs.push(nagare::request::missing(#missing_name, #ctx)); Default::default() })
    } else if let Some(d) = element_default(e) {
        quote!(#d)
    } else {
        quote!(None)
    };
    let wrap = |v: TokenStream| if plain { v } else { quote!(Some(#v)) };
    match (e.location, &e.attr.ty) {
        (Location::BasicAuth, _) => {
            let part = if e.attr.credential == Some(Credential::Password) {
                quote!(p)
            } else {
                quote!(u)
            };
            // Report a missing header once, on the user name.
            let absent = if e.attr.credential == Some(Credential::Password) && e.required {
                quote!(Default::default())
            } else {
                absent
            };
            let present = wrap(quote!(#part.clone()));
            quote! {
                let #id = match &basic {
                    Some((u, p)) => { let _ = (u, p); #present }
                    None => #absent,
                };
            }
        }
        (Location::Body, ty) => {
            let t = rust_type(
                ty,
                &format!("{}Payload{}", m.pascal, crate::names::pascal(name)),
            );
            let present = wrap(quote!(v));
            quote! {
                let #id = match body.remove(#wire) {
                    Some(raw) if !raw.is_null() => match nagare::request::from_json::<#t>(raw, #name) {
                        Ok(v) => #present,
                        Err(e) => { errs.push(e); Default::default() }
                    },
                    _ => #absent,
                };
            }
        }
        (_, Type::Array(elem)) => {
            let all = match e.location {
                Location::Query => quote!(params.query_all(#wire)),
                Location::Header => quote!(nagare::request::header_all(parts, #wire)),
                Location::Path => quote!(params.path(#wire).into_iter().collect()),
                _ => quote!(cookie.as_deref().into_iter().collect()),
            };
            let cookie = if e.location == Location::Cookie {
                quote!(let cookie = nagare::request::cookie(parts, #wire);)
            } else {
                quote!()
            };
            let convert = match elem.primitive() {
                Some(Primitive::String) => quote!(raw.iter().map(|s| s.to_string()).collect()),
                Some(p) => {
                    let goa = p.goa_name();
                    let ty = rust_type(elem, "");
                    quote!(match nagare::request::parse_all::<#ty>(&raw, #name, #goa) {
                        Ok(v) => v,
                        Err(e) => { errs.push(e); Default::default() }
                    })
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
                    quote!(nagare::request::header(parts, #wire).map(nagare::security::strip_scheme))
                }
                Location::Header => quote!(nagare::request::header(parts, #wire)),
                _ => quote!(nagare::request::cookie(parts, #wire).as_deref()),
            };
            let (guard, convert) = match ty.primitive() {
                Some(Primitive::String) => (quote!(if !s.is_empty()), quote!(s.to_owned())),
                Some(p) => {
                    let goa = p.goa_name();
                    let t = rust_type(ty, "");
                    (
                        quote!(),
                        quote!(match nagare::request::parse::<#t>(s, #name, #goa) {
                            Ok(v) => v,
                            Err(e) => { errs.push(e); Default::default() }
                        }),
                    )
                }
                None => (quote!(), quote!(Default::default())),
            };
            let present = wrap(convert);
            quote! {
                let #id = match #raw {
                    Some(s) #guard => #present,
                    _ => #absent,
                };
            }
        }
    }
}
