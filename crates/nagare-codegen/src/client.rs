//! The generated Rust client: one method per streaming method, which validates the
//! payload, dials the endpoint with it and returns the typed client stream.

use nagare_design::{Location, Service, StreamKind, Type};
use proc_macro2::TokenStream;
use quote::quote;

use crate::names::field_ident;
use crate::service::{element_is_plain, elements, Element, MethodInfo};

pub(crate) fn render(service: &Service, methods: &[MethodInfo]) -> TokenStream {
    let fns = methods.iter().map(render_method);
    let doc = format!(" Client of the `{}` service.", service.name);
    quote! {
        /// The Rust client of the service.
        pub mod client {
            use super::*;

            #[doc = #doc]
            #[derive(Clone, Debug)]
            pub struct Client {
                base_url: String,
                config: nagare::ConnConfig,
            }

            impl Client {
                /// A client of the server at `base_url` (`http://host:port`).
                pub fn new(base_url: impl Into<String>) -> Self {
                    Client { base_url: base_url.into(), config: nagare::ConnConfig::default() }
                }

                /// Replaces the connection settings used for every call.
                pub fn with_config(mut self, config: nagare::ConnConfig) -> Self {
                    self.config = config;
                    self
                }

                #(#fns)*
            }
        }
    }
}

fn render_method(m: &MethodInfo) -> TokenStream {
    let id = field_ident(&m.method.name);
    let stream = crate::names::ident(&format!("{}ClientStream", m.pascal));
    let doc = crate::types::doc(Some(&format!(
        "{}\n\nDials `GET {}` and returns the connected stream.",
        m.method
            .description
            .as_deref()
            .unwrap_or("No description in the design."),
        m.route.path
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
    let adds = elems
        .iter()
        .filter(|e| e.location != Location::Path)
        .map(|e| add_element(m, e));
    let (arg, validate) = match &m.payload {
        Some(p) => (
            quote!(payload: &#p),
            quote!(nagare::Validate::validate(payload).map_err(nagare::ClientError::InvalidPayload)?;),
        ),
        None => (quote!(), quote!()),
    };
    let view = if m.viewed.is_some() {
        quote!(Some(nagare::client::response_view(&headers)))
    } else {
        quote!(None)
    };
    let make = match m.kind {
        StreamKind::Client => quote!(#stream::new(conn)),
        _ => quote!(#stream::new(conn, #view)),
    };
    quote! {
        #doc
        pub async fn #id(&self, #arg) -> Result<#stream, nagare::ClientError> {
            #validate
            #[allow(unused_mut)]
            let mut request = nagare::UpgradeRequest::new(#path);
            #(#adds)*
            let (conn, headers) = request.dial(&self.base_url, &self.config).await?;
            let _ = &headers;
            Ok(#make)
        }
    }
}

fn add_element(m: &MethodInfo, e: &Element) -> TokenStream {
    let f = field_ident(&e.attr.name);
    let wire = &e.wire;
    let add = match e.location {
        Location::Query => quote!(request.query(#wire, v);),
        Location::Header => quote!(request.header(#wire, v)?;),
        Location::Cookie => quote!(request.cookie(#wire, v);),
        Location::Path => quote!(),
    };
    let is_array = matches!(e.attr.ty, Type::Array(_));
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
