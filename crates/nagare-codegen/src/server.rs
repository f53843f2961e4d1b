//! The generated axum server: one handler per streaming method that decodes and
//! validates the upgrade request into the payload, answers errors with Goa's
//! error body before upgrading, then runs the service method on the WebSocket.

use nagare_design::{Location, Primitive, Service, StreamKind, Type};
use proc_macro2::TokenStream;
use quote::quote;

use crate::names::{field_ident, ident};
use crate::service::{element_default, element_is_plain, elements, Element, MethodInfo};
use crate::types::rust_type;

pub(crate) fn render(service: &Service, methods: &[MethodInfo]) -> TokenStream {
    let routes = methods.iter().flat_map(|m| {
        let f = ident(&format!(
            "handle_{}",
            field_ident(&m.method.name)
                .to_string()
                .trim_start_matches("r#")
        ));
        let prefix = service.http.path.clone().unwrap_or_default();
        m.endpoint.routes.iter().map(move |r| {
            let path = format!("{prefix}{}", r.path);
            quote!(.route(#path, nagare::export::axum::routing::get(#f::<S>)))
        })
    });
    let handlers = methods.iter().map(render_handler);
    let doc = format!(
        " The router serving the `{}` service: mount it in an axum app or serve it\n with `axum::serve`. Every endpoint is a GET that upgrades to a WebSocket.",
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

fn render_handler(m: &MethodInfo) -> TokenStream {
    let name = field_ident(&m.method.name).to_string();
    let name = name.trim_start_matches("r#");
    let handler = ident(&format!("handle_{name}"));
    let decode = ident(&format!("decode_{name}"));
    let method_fn = field_ident(&m.method.name);
    let stream = ident(&format!("{}ServerStream", m.pascal));
    let service_name = &m.service.name;
    let method_name = &m.method.name;
    let hdoc = format!(
        " `GET {}`: upgrades to the `{}` stream.",
        m.route.path, m.method.name
    );

    let (decode_fn, payload_stmt, call) = match &m.payload {
        Some(p) => (
            render_decode(m, &decode, p),
            quote! {
                let params = nagare::request::RequestParams::from_parts(&mut parts).await;
                let payload = match #decode(&parts, &params) {
                    Ok(p) => p,
                    Err(e) => return nagare::export::axum::response::IntoResponse::into_response(nagare::GoaError::from(e)),
                };
            },
            quote!(service.#method_fn(payload, stream).await),
        ),
        None => (quote!(), quote!(), quote!(service.#method_fn(stream).await)),
    };
    let (view_stmt, view_arg) = match &m.viewed {
        Some(viewed) => {
            let chosen = match view_attribute(m) {
                Some(true) => quote!(Some(payload.view.as_str())),
                Some(false) => quote!(payload.view.as_deref()),
                None => quote!(None),
            };
            (
                quote! {
                    // Checked against the views before the upgrade, so this finds it.
                    let requested: Option<&str> = #chosen;
                    let view: &'static str = requested
                        .and_then(|v| #viewed::VIEWS.iter().copied().find(|known| *known == v))
                        .unwrap_or(#viewed::VIEWS[0]);
                    headers.insert("goa-view", nagare::export::axum::http::HeaderValue::from_static(view));
                },
                quote!(Some(view.into())),
            )
        }
        None => (quote!(), quote!(None)),
    };
    let make_stream = match m.kind {
        StreamKind::Client => quote!(#stream::new(conn)),
        _ => quote!(#stream::new(conn, #view_arg)),
    };
    quote! {
        #decode_fn

        #[doc = #hdoc]
        async fn #handler<S: Service>(
            nagare::export::axum::extract::State(state): nagare::export::axum::extract::State<::std::sync::Arc<State<S>>>,
            request: nagare::export::axum::extract::Request,
        ) -> nagare::export::axum::response::Response {
            let (mut parts, _body) = request.into_parts();
            #payload_stmt
            #[allow(unused_mut)]
            let mut headers = nagare::export::axum::http::HeaderMap::new();
            #view_stmt
            let service = state.service.clone();
            let endpoint = nagare::EndpointName { service: #service_name, method: #method_name };
            nagare::server::upgrade(&mut parts, &state.options, endpoint, headers, move |conn| async move {
                let stream = #make_stream;
                #call
            })
        }
    }
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
) -> TokenStream {
    let elems = elements(m);
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
    let doc = format!(
        " Reads the `{}` payload from the upgrade request.",
        m.method.name
    );
    quote! {
        #[doc = #doc]
        #[allow(unused_variables)]
        fn #decode(
            parts: &nagare::export::axum::http::request::Parts,
            params: &nagare::request::RequestParams,
        ) -> Result<#payload, nagare::ValidationError> {
            #[allow(unused_mut)]
            let mut errs = nagare::ValidationErrors::new();
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
    let absent = if e.required {
        quote!({ errs.push(nagare::request::missing(#name, #ctx)); Default::default() })
    } else if let Some(d) = element_default(e) {
        quote!(#d)
    } else {
        quote!(None)
    };
    let wrap = |v: TokenStream| if plain { v } else { quote!(Some(#v)) };
    match &e.attr.ty {
        Type::Array(elem) => {
            let all = match e.location {
                Location::Query => quote!(params.query_all(#wire)),
                Location::Header => quote!(nagare::request::header_all(parts, #wire)),
                Location::Path => quote!(params.path(#wire).into_iter().collect()),
                Location::Cookie => quote!(cookie.as_deref().into_iter().collect()),
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
        ty => {
            let raw = match e.location {
                Location::Path => quote!(params.path(#wire)),
                Location::Query => quote!(params.query(#wire)),
                Location::Header => quote!(nagare::request::header(parts, #wire)),
                Location::Cookie => quote!(nagare::request::cookie(parts, #wire).as_deref()),
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
