//! The generated Rust client: one method per design method, which validates the
//! payload, puts it in the request as the design maps it, and returns the typed
//! result or client stream. Designed errors come back as the service's `Error`.

use nagare_design::{Credential, Location, SchemeKind, Service, StreamKind, Type};
use proc_macro2::TokenStream;
use quote::quote;

use crate::names::{field_ident, ident};
use crate::service::{element_is_plain, elements, Element, MethodInfo};

pub(crate) fn render(service: &Service, methods: &[MethodInfo]) -> TokenStream {
    let fns = methods.iter().map(render_method);
    let unary = methods.iter().any(|m| m.kind == StreamKind::Unary);
    let (http_field, http_init, with_http) = if unary {
        (
            quote!(http: nagare::client::HttpClient,),
            quote!(http: nagare::client::http_client(&nagare::ConnConfig::default()),),
            quote!(self.http = nagare::client::http_client(&config);),
        )
    } else {
        (quote!(), quote!(), quote!())
    };
    let doc = format!(" Client of the `{}` service.", service.name);
    quote! {
        /// The Rust client of the service.
        pub mod client {
            use super::*;

            #[doc = #doc]
            #[derive(Clone, Debug)]
            pub struct Client {
                dialer: nagare::Dialer,
                #http_field
            }

            impl Client {
                /// A client of the server at `base_url` (`http://host:port`): one
                /// attempt per call, no reconnection.
                pub fn new(base_url: impl Into<String>) -> Self {
                    Client {
                        dialer: nagare::Dialer::new(base_url),
                        #http_init
                    }
                }

                /// Replaces the connection settings used for every call (limits,
                /// heartbeats and, with the `tls` feature, the roots trusted).
                pub fn with_config(mut self, config: nagare::ConnConfig) -> Self {
                    #with_http
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
                /// `nagare::retry::states`).
                pub fn with_states(mut self, states: nagare::retry::StateSender) -> Self {
                    self.dialer.set_states(Some(states));
                    self
                }

                #(#fns)*
            }
        }
    }
}

fn render_method(m: &MethodInfo) -> TokenStream {
    let id = field_ident(&m.method.name);
    let unary = m.kind == StreamKind::Unary;
    let what = if unary {
        format!("Calls `{} {}`.", m.route.verb.as_str(), m.route.path)
    } else if m.method.resume.is_some() {
        format!(
            "Dials `GET {}` and returns the stream, which resumes after a drop when the client has a reconnect policy.",
            m.route.path
        )
    } else {
        format!(
            "Dials `GET {}` and returns the connected stream.",
            m.route.path
        )
    };
    let doc = crate::types::doc(Some(&format!(
        "{}\n\n{what}",
        m.method
            .description
            .as_deref()
            .unwrap_or("No description in the design."),
    )));
    let elems = elements(m);
    let path_params = m.route.params();
    let mut fmt = m.route.path.clone();
    for p in &path_params {
        fmt = fmt.replace(&format!("{{{p}}}"), "{}");
    }
    let path_args = path_params.iter().map(|p| {
        let f = field_ident(p);
        quote!(nagare::client::path_segment(&payload.#f))
    });
    let path = if path_params.is_empty() {
        quote!(String::from(#fmt))
    } else {
        quote!(format!(#fmt, #(#path_args),*))
    };
    let basic = if elems.iter().any(|e| e.location == Location::BasicAuth) {
        basic_auth(m)
    } else {
        quote!()
    };
    let adds = elems
        .iter()
        .filter(|e| !matches!(e.location, Location::Path | Location::BasicAuth))
        .map(|e| add_element(m, e));
    let (arg, validate) = match &m.payload {
        Some(p) => (
            quote!(payload: &#p),
            quote!(nagare::Validate::validate(payload).map_err(|e| Error::Client(nagare::ClientError::InvalidPayload(e)))?;),
        ),
        None => (quote!(), quote!()),
    };
    let statuses = m.statuses_const();
    let prepare = quote! {
        #statuses
        #validate
        #[allow(unused_mut)]
        let mut request = nagare::Request::new(#path);
        #basic
        #(#adds)*
    };
    if unary {
        let verb = ident(m.route.verb.as_str());
        let success =
            m.endpoint
                .status
                .unwrap_or(if m.method.result.is_some() { 200 } else { 204 });
        let (ret, ok) = match &m.result {
            Some(r) => {
                let view = match &m.pinned_view {
                    Some(v) => quote!(Some(#v)),
                    None => quote!(None),
                };
                (
                    r.clone(),
                    quote! {
                        <#r as nagare::Message>::decode(&response.body, #view)
                            .map_err(|e| Error::Client(nagare::ClientError::Handshake(format!("invalid result: {e}"))))
                    },
                )
            }
            None => (
                quote!(()),
                quote!({
                    let _ = response;
                    Ok(())
                }),
            ),
        };
        return quote! {
            #doc
            pub async fn #id(&self, #arg) -> Result<#ret, Error> {
                #prepare
                let response = self
                    .dialer
                    .call(&self.http, nagare::export::axum::http::Method::#verb, &request, #success)
                    .await
                    .map_err(|e| Error::from_client(e, STATUSES))?;
                #ok
            }
        };
    }
    let stream = ident(&format!("{}ClientStream", m.pascal));
    let view = match (&m.viewed, &m.pinned_view) {
        (Some(_), _) => quote!(Some(nagare::client::response_view(&headers))),
        (None, Some(v)) => quote!(Some(#v.into())),
        (None, None) => quote!(None),
    };
    let make = match m.kind {
        StreamKind::Client => quote!(#stream::new(conn)),
        _ => quote!(#stream::new(conn, #view)),
    };
    if m.method.resume.is_some() {
        let source = match (&m.viewed, &m.pinned_view) {
            (Some(_), _) => quote!(nagare::client::ViewSource::Response),
            (None, Some(v)) => quote!(nagare::client::ViewSource::Fixed(#v.into())),
            (None, None) => quote!(nagare::client::ViewSource::None),
        };
        let open = if m.kind == StreamKind::Bidirectional {
            quote!(resumable_bidi)
        } else {
            quote!(resumable)
        };
        return quote! {
            #doc
            pub async fn #id(&self, #arg) -> Result<#stream, Error> {
                #prepare
                self.dialer
                    .#open(request, #source)
                    .await
                    .map_err(|e| Error::from_client(e, STATUSES))
            }
        };
    }
    quote! {
        #doc
        pub async fn #id(&self, #arg) -> Result<#stream, Error> {
            #prepare
            let (conn, headers) = self
                .dialer
                .dial(&request)
                .await
                .map_err(|e| Error::from_client(e, STATUSES))?;
            let _ = &headers;
            Ok(#make)
        }
    }
}

/// `request.basic_auth(user, password)` from the payload's basic credentials.
fn basic_auth(m: &MethodInfo) -> TokenStream {
    let obj = m.method.payload.as_ref().and_then(Type::object);
    let value = |c: Credential| match obj.and_then(|o| o.credential_attribute(&c)) {
        Some(a) => {
            let f = field_ident(&a.name);
            if obj.is_some_and(|o| crate::types::is_plain(o, a)) {
                quote!(payload.#f.as_str())
            } else {
                quote!(payload.#f.as_deref().unwrap_or_default())
            }
        }
        None => quote!(""),
    };
    let user = value(Credential::Username);
    let password = value(Credential::Password);
    quote!(request.basic_auth(#user, #password).map_err(Error::Client)?;)
}

fn add_element(m: &MethodInfo, e: &Element) -> TokenStream {
    let f = field_ident(&e.attr.name);
    let wire = &e.wire;
    // A JWT in `Authorization` goes as `Bearer <token>`, as Goa's clients send it.
    let jwt_header = e.location == Location::Header
        && wire.eq_ignore_ascii_case("authorization")
        && e.attr.credential == Some(Credential::Token)
        && m.security.iter().any(|(s, _)| s.kind == SchemeKind::Jwt);
    let add = match e.location {
        Location::Query => quote!(request.query(#wire, v);),
        Location::Header if jwt_header => {
            quote!(request.header(#wire, nagare::security::bearer(&v.to_string())).map_err(Error::Client)?;)
        }
        Location::Header => quote!(request.header(#wire, v).map_err(Error::Client)?;),
        Location::Cookie => quote!(request.cookie(#wire, v);),
        Location::Body => quote!(request.body_field(#wire, v).map_err(Error::Client)?;),
        Location::Path | Location::BasicAuth => quote!(),
    };
    let is_array = matches!(e.attr.ty, Type::Array(_)) && e.location != Location::Body;
    let each = if is_array {
        quote!(for v in vs { #add })
    } else {
        quote!(let v = vs; #add)
    };
    if element_is_plain(m, e) {
        quote!({ let vs = &payload.#f; #each })
    } else {
        quote!(if let Some(vs) = &payload.#f { #each })
    }
}
