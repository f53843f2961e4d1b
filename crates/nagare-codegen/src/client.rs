//! The generated Rust client: one method per design method, which validates the
//! payload, puts it in the request as the design maps it, and returns the typed
//! result or client stream. Designed errors come back as the service's `Error`.

use nagare_design::{Credential, Location, Primitive, SchemeKind, Service, StreamKind, Type};
use proc_macro2::TokenStream;
use quote::quote;

use crate::docs::doc;
use crate::model::{Element, MethodInfo};
use crate::names::Scope;
use crate::names::{field_ident, ident};

pub(crate) fn render(service: &Service, methods: &[MethodInfo]) -> TokenStream {
    let fns = methods.iter().map(render_method);
    let doc = format!(" Client of the `{}` service.", service.name);
    quote! {
        /// The Rust client of the service.
        pub mod client {
            #[doc = #doc]
            #[derive(Clone, Debug)]
            pub struct Client {
                dialer: nagare::Dialer,
            }

            impl Client {
                /// A client of the server at `base_url` (`http://host:port`): one
                /// attempt per call, no reconnection.
                pub fn new(base_url: impl Into<String>) -> Self {
                    Client {
                        dialer: nagare::Dialer::new(base_url),
                    }
                }

                /// A client that calls through `dialer`: one configured by hand,
                /// or a test server's (`nagare::testing::TestServer::dialer`).
                pub fn from_dialer(dialer: nagare::Dialer) -> Self {
                    Client { dialer }
                }

                /// Replaces the connection settings used for every call (limits,
                /// heartbeats and, with the `tls` feature, the roots trusted).
                pub fn with_config(mut self, config: nagare::ConnConfig) -> Self {
                    self.dialer.set_config(config);
                    self
                }

                /// Retries connecting with `policy` when a retry can help (the
                /// server unreachable or overloaded; never on a 4xx or a designed
                /// error).
                pub fn with_retry(mut self, policy: nagare::RetryPolicy) -> Self {
                    self.dialer.set_retry(Some(policy));
                    self
                }

                /// Keeps resumable streams alive: after a drop they reconnect with
                /// `policy` and resume where they stopped.
                pub fn with_reconnect(mut self, policy: nagare::RetryPolicy) -> Self {
                    self.dialer.set_reconnect(Some(policy));
                    self
                }

                /// Reports the connection states of every call on `states` (see
                /// `nagare::client::states`).
                pub fn with_states(mut self, states: nagare::client::StateSender) -> Self {
                    self.dialer.set_states(Some(states));
                    self
                }

                #(#fns)*
            }
        }
    }
}

fn render_method(m: &MethodInfo) -> TokenStream {
    let id = m.fn_ident();
    let unary = m.kind == StreamKind::Unary;
    let what = if unary {
        format!("Calls `{} {}`.", m.route.verb.as_str(), m.route.path)
    } else if m.is_resumable() {
        format!(
            "Dials `GET {}` and returns the stream, which resumes after a drop when the\nclient has a reconnect policy.",
            m.route.path
        )
    } else {
        format!(
            "Dials `GET {}` and returns the connected stream.",
            m.route.path
        )
    };
    let doc = doc(&format!(
        "{}\n\n{what}",
        m.method
            .description
            .as_deref()
            .unwrap_or("No description in the design."),
    ));
    let statuses_const = m.statuses_const();
    let statuses = m.statuses_expr();
    let typed = quote!(|e| nagare::codegen::from_client::<super::Error>(e, #statuses));
    let (arg, validate) = match m.payload(Scope::Child) {
        Some(p) => (
            quote!(payload: &#p),
            quote! {
                nagare::Validate::validate(payload)
                    .map_err(|e| super::Error::Client(nagare::ClientError::InvalidPayload(e)))?;
            },
        ),
        None => (quote!(), quote!()),
    };
    let build = build_request(m);
    let prepare = quote! {
        #statuses_const
        #validate
        #build
    };
    if unary {
        let verb = ident(m.route.verb.as_str());
        let success = m.success_status();
        let call = quote! {
            self.dialer
                .call(nagare::codegen::http::Method::#verb, &request, #success)
                .await
                .map_err(#typed)?
        };
        let (ret, body) = match m.result(Scope::Child) {
            Some(r) => {
                let view = match m.pinned_view() {
                    Some(v) => quote!(Some(#v)),
                    None => quote!(None),
                };
                (
                    r.clone(),
                    quote! {
                        let response = #call;
                        <#r as nagare::Message>::decode(&response.body, #view)
                            .map_err(|e| super::Error::Client(nagare::ClientError::InvalidResult(e)))
                    },
                )
            }
            None => (
                quote!(()),
                quote! {
                    #call;
                    Ok(())
                },
            ),
        };
        return quote! {
            #doc
            pub async fn #id(&self, #arg) -> Result<#ret, super::Error> {
                #prepare
                #body
            }
        };
    }
    let stream = m.client_stream();
    if m.is_resumable() {
        let source = match (m.viewed(Scope::Child), m.pinned_view()) {
            (Some(_), _) => quote!(nagare::codegen::client::ViewSource::Response),
            (None, Some(v)) => quote!(nagare::codegen::client::ViewSource::Fixed(#v.into())),
            (None, None) => quote!(nagare::codegen::client::ViewSource::None),
        };
        let open = if m.kind == StreamKind::Bidirectional {
            quote!(open_resumable_bidi)
        } else {
            quote!(open_resumable)
        };
        return quote! {
            #doc
            pub async fn #id(&self, #arg) -> Result<super::#stream, super::Error> {
                #prepare
                nagare::codegen::client::#open(&self.dialer, request, #source)
                    .await
                    .map_err(#typed)
            }
        };
    }
    let (headers, view) = match (m.viewed(Scope::Child), m.pinned_view()) {
        (Some(_), _) => (
            quote!(headers),
            quote!(Some(nagare::codegen::client::response_view(&headers))),
        ),
        (None, Some(v)) => (quote!(_), quote!(Some(#v.into()))),
        (None, None) => (quote!(_), quote!(None)),
    };
    let make = match m.kind {
        StreamKind::Client => quote!(super::#stream::new(conn)),
        _ => quote!(super::#stream::new(conn, #view)),
    };
    quote! {
        #doc
        pub async fn #id(&self, #arg) -> Result<super::#stream, super::Error> {
            #prepare
            let (conn, #headers) = self.dialer.dial(&request).await.map_err(#typed)?;
            Ok(#make)
        }
    }
}

/// `let request = ...;`: the path with its parameters, then every other mapped
/// attribute of the payload where the design puts it.
fn build_request(m: &MethodInfo) -> TokenStream {
    let elems = m.elements();
    let path_params = m.route.params();
    let mut fmt = m.route.path.clone();
    for p in &path_params {
        fmt = fmt.replace(&format!("{{{p}}}"), "{}");
    }
    let path_args = path_params.iter().map(|p| {
        let f = field_ident(p);
        quote!(nagare::codegen::client::path_segment(&payload.#f))
    });
    let path = if path_params.is_empty() {
        quote!(String::from(#fmt))
    } else {
        quote!(format!(#fmt, #(#path_args),*))
    };
    let basic = if elems.iter().any(|e| e.location == Location::BasicAuth) {
        let user = m.credential(&Credential::Username);
        let password = m.credential(&Credential::Password);
        Some(quote!(request.basic_auth(#user, #password).map_err(super::Error::Client)?;))
    } else {
        None
    };
    let adds: Vec<TokenStream> = basic
        .into_iter()
        .chain(
            elems
                .iter()
                .filter(|e| !matches!(e.location, Location::Path | Location::BasicAuth))
                .map(|e| add_element(m, e)),
        )
        .collect();
    if adds.is_empty() {
        return quote!(let request = nagare::Request::new(#path););
    }
    quote! {
        let mut request = nagare::Request::new(#path);
        #(#adds)*
    }
}

fn add_element(m: &MethodInfo, e: &Element) -> TokenStream {
    let f = field_ident(&e.attr.name);
    let wire = &e.wire;
    // A JWT in `Authorization` goes as `Bearer <token>`, as Goa's clients send it.
    let jwt_header = e.location == Location::Header
        && wire.eq_ignore_ascii_case("authorization")
        && e.attr.credential == Some(Credential::Token)
        && m.security.iter().any(|(s, _)| s.kind == SchemeKind::Jwt);
    let add = |v: TokenStream| match e.location {
        Location::Query => quote!(request.query(#wire, #v);),
        Location::Header if jwt_header => quote! {
            request
                .header(#wire, nagare::codegen::client::bearer(#v))
                .map_err(super::Error::Client)?;
        },
        Location::Header => quote!(request.header(#wire, #v).map_err(super::Error::Client)?;),
        Location::Cookie => quote!(request.cookie(#wire, #v);),
        Location::Body => quote!(request.body_field(#wire, #v).map_err(super::Error::Client)?;),
        Location::Path | Location::BasicAuth => quote!(),
    };
    let is_array = matches!(e.attr.ty, Type::Array(_)) && e.location != Location::Body;
    // Numbers and booleans are copied into a query, header or cookie; anything
    // else is lent (a body field always is).
    // (a design enum is `Copy` too).
    let copied = e.location != Location::Body
        && (e.enum_type().is_some()
            || e.attr.ty.primitive().is_some_and(|p| {
                !matches!(p, Primitive::String | Primitive::Bytes | Primitive::Any)
            }));
    match (e.plain, is_array) {
        (true, false) if copied => add(quote!(payload.#f)),
        (true, false) => add(quote!(&payload.#f)),
        (true, true) => {
            let each = add(quote!(v));
            quote!(for v in &payload.#f { #each })
        }
        (false, false) => {
            let one = add(quote!(v));
            quote!(if let Some(v) = &payload.#f { #one })
        }
        (false, true) => {
            let each = add(quote!(v));
            quote!(if let Some(vs) = &payload.#f { for v in vs { #each } })
        }
    }
}
