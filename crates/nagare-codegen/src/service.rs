//! One service module: types, errors, the service trait, stream handles, the
//! server router and the client.

use nagare_design::{
    Api, HttpEndpoint, Location, Method, Primitive, Route, SchemeKind, SecurityScheme, Service,
    StreamKind, Type,
};
use proc_macro2::TokenStream;
use quote::quote;

use crate::names::{field_ident, ident, pascal, snake, type_ident};
use crate::types::{doc, is_plain, literal, rust_type, TypeSet};
use crate::GenerateError;

/// What the generator needs to know about one method.
pub(crate) struct MethodInfo<'a> {
    pub service: &'a Service,
    pub method: &'a Method,
    pub kind: StreamKind,
    /// `Echo`: prefix of generated names.
    pub pascal: String,
    pub payload: Option<TokenStream>,
    pub streaming_payload: Option<TokenStream>,
    /// The streamed result, or the final result of a client stream.
    pub result: Option<TokenStream>,
    /// The result type with views, if it has several and the method does not pin one.
    pub viewed: Option<TokenStream>,
    /// The view the method pins its result to.
    pub pinned_view: Option<String>,
    pub endpoint: &'a HttpEndpoint,
    /// The first route, with the service prefix.
    pub route: Route,
    /// Designed errors mapped to HTTP statuses: the method's, then the service's.
    pub statuses: Vec<(String, u16)>,
    /// The schemes securing the method, with the scopes it requires.
    pub security: Vec<(&'a SecurityScheme, Vec<String>)>,
}

impl<'a> MethodInfo<'a> {
    pub fn new(
        api: &'a Api,
        service: &'a Service,
        method: &'a Method,
    ) -> Result<Self, GenerateError> {
        let kind = method.kind();
        let p = pascal(&method.name);
        let endpoint = method
            .http
            .as_ref()
            .ok_or_else(|| GenerateError::Unsupported {
                service: service.name.clone(),
                method: method.name.clone(),
                what: "a method without an HTTP mapping".into(),
            })?;
        let first = endpoint
            .routes
            .first()
            .ok_or_else(|| GenerateError::Unsupported {
                service: service.name.clone(),
                method: method.name.clone(),
                what: "an HTTP mapping without a route".into(),
            })?;
        let route = Route {
            verb: first.verb,
            path: format!(
                "{}{}",
                service.http.path.as_deref().unwrap_or(""),
                first.path
            ),
        };
        let result_ty = match kind {
            StreamKind::ClientWithResult | StreamKind::Unary => method.result.as_ref(),
            _ => method.streaming_result.as_ref(),
        };
        let viewed = result_ty
            .and_then(Type::viewed)
            .filter(|u| u.views().len() > 1 && method.result_view.is_none())
            .map(|u| {
                let id = type_ident(&u.name);
                quote!(#id)
            });
        let mut statuses = endpoint.error_statuses.clone();
        for (name, status) in &service.http.error_statuses {
            let declared = service.errors_of(method).any(|e| &e.name == name);
            if declared && !statuses.iter().any(|(n, _)| n == name) {
                statuses.push((name.clone(), *status));
            }
        }
        let security = service
            .security_of(method)
            .iter()
            .filter_map(|r| {
                api.security_scheme(&r.scheme)
                    .map(|scheme| (scheme, r.scopes.clone()))
            })
            .collect();
        Ok(MethodInfo {
            service,
            method,
            kind,
            payload: method
                .payload
                .as_ref()
                .map(|t| rust_type(t, &format!("{p}Payload"))),
            streaming_payload: method
                .streaming_payload
                .as_ref()
                .map(|t| rust_type(t, &format!("{p}StreamingPayload"))),
            result: result_ty.map(|t| rust_type(t, &format!("{p}Result"))),
            viewed,
            pinned_view: method.result_view.clone(),
            endpoint,
            route,
            statuses,
            security,
            pascal: p,
        })
    }

    /// `const STATUSES: &[(&str, u16)] = ...;` for the method's designed errors.
    pub fn statuses_const(&self) -> TokenStream {
        let entries = self.statuses.iter().map(|(n, s)| quote!((#n, #s)));
        quote!(const STATUSES: &[(&str, u16)] = &[#(#entries),*];)
    }

    /// The view the server renders results with, as an `Option<ViewName>`
    /// expression (`view` is the variable the handler resolved).
    pub fn view_expr(&self, resolved: TokenStream) -> TokenStream {
        match (&self.viewed, &self.pinned_view) {
            (Some(_), _) => quote!(Some(#resolved.into())),
            (None, Some(pinned)) => quote!(Some(#pinned.into())),
            (None, None) => quote!(None),
        }
    }

    fn fn_ident(&self) -> proc_macro2::Ident {
        field_ident(&self.method.name)
    }

    fn server_stream(&self) -> proc_macro2::Ident {
        ident(&format!("{}ServerStream", self.pascal))
    }

    fn client_stream(&self) -> proc_macro2::Ident {
        ident(&format!("{}ClientStream", self.pascal))
    }
}

/// Registers the types every method of the service uses.
pub(crate) fn collect_types(service: &Service) -> TypeSet {
    let mut set = TypeSet::default();
    for m in &service.methods {
        let p = pascal(&m.name);
        if let Some(t) = &m.payload {
            set.add(
                t,
                &format!("{p}Payload"),
                Some(&format!("Payload of the {} method.", m.name)),
            );
        }
        if let Some(t) = &m.streaming_payload {
            set.add(
                t,
                &format!("{p}StreamingPayload"),
                Some(&format!(
                    "Message the client streams to the {} method.",
                    m.name
                )),
            );
        }
        if let Some(t) = &m.streaming_result {
            set.add(
                t,
                &format!("{p}Result"),
                Some(&format!(
                    "Message the {} method streams to the client.",
                    m.name
                )),
            );
        }
        if let Some(t) = &m.result {
            set.add(
                t,
                &format!("{p}Result"),
                Some(&format!("Result of the {} method.", m.name)),
            );
        }
    }
    for e in service.methods.iter().flat_map(|m| service.errors_of(m)) {
        set.add(
            &e.ty,
            &format!("{}Error", pascal(&e.name)),
            e.description.as_deref(),
        );
    }
    set
}

/// The whole module of a service.
/// Names the generated module uses for itself or takes from the prelude; a design
/// type with one of them would shadow it.
const RESERVED_TYPE_NAMES: &[&str] = &[
    "Error",
    "Service",
    "String",
    "Option",
    "Vec",
    "Result",
    "HashMap",
    "Serialize",
    "Deserialize",
    "Some",
    "None",
    "Ok",
    "Err",
];

pub(crate) fn render(
    api: &Api,
    service: &Service,
    cli: bool,
) -> Result<TokenStream, GenerateError> {
    let set = collect_types(service);
    for d in &set.decls {
        let clashes = RESERVED_TYPE_NAMES.contains(&d.name.as_str())
            || service.methods.iter().any(|m| {
                let p = pascal(&m.name);
                d.name == format!("{p}ServerStream") || d.name == format!("{p}ClientStream")
            });
        if clashes {
            return Err(GenerateError::NameClash {
                service: service.name.clone(),
                name: d.name.clone(),
            });
        }
    }
    let methods = service
        .methods
        .iter()
        .map(|m| MethodInfo::new(api, service, m))
        .collect::<Result<Vec<_>, _>>()?;
    let module = field_ident(&snake(&service.name));
    let mod_doc = doc(Some(&format!(
        "{}\n\nGenerated from the `{}` service of the `{}` design.",
        service
            .description
            .as_deref()
            .unwrap_or("Service without a description."),
        service.name,
        api.name
    )));
    let service_name = &service.name;
    let types = set.render();
    let errors = render_errors(service);
    let streams = methods.iter().map(render_stream_aliases);
    let trait_ = render_trait(service, &methods);
    let server = crate::server::render(service, &methods);
    let client = crate::client::render(service, &methods);
    let cli = cli.then(|| crate::cli::render_service(service, &methods));
    Ok(quote! {
        #mod_doc
        #[allow(clippy::all, unused_imports)]
        pub mod #module {
            use std::collections::HashMap;

            use nagare::export::serde::{Deserialize, Serialize};

            /// Name of the service in the design.
            pub const SERVICE: &str = #service_name;

            #types
            #errors
            #(#streams)*
            #trait_
            #server
            #client
            #cli
        }
    })
}

fn render_stream_aliases(m: &MethodInfo) -> TokenStream {
    if m.kind == StreamKind::Unary {
        return quote!();
    }
    let server = m.server_stream();
    let client = m.client_stream();
    let sp = m.streaming_payload.clone().unwrap_or_else(|| quote!(()));
    let r = m.result.clone().unwrap_or_else(|| quote!(()));
    let (server_ty, client_ty) = match m.kind {
        StreamKind::Server if m.method.resume.is_some() => (
            quote!(nagare::ServerStream<#r>),
            quote!(nagare::ResumableStream<#r>),
        ),
        StreamKind::Server => (
            quote!(nagare::ServerStream<#r>),
            quote!(nagare::ClientStream<#r>),
        ),
        StreamKind::Client => (
            quote!(nagare::ServerRecvStream<#sp>),
            quote!(nagare::ClientSendStream<#sp>),
        ),
        StreamKind::ClientWithResult => (
            quote!(nagare::ServerRecvResultStream<#sp, #r>),
            quote!(nagare::ClientSendResultStream<#sp, #r>),
        ),
        StreamKind::Bidirectional if m.method.resume.is_some() => (
            quote!(nagare::BidiServerStream<#sp, #r>),
            quote!(nagare::ResumableBidiStream<#sp, #r>),
        ),
        StreamKind::Bidirectional => (
            quote!(nagare::BidiServerStream<#sp, #r>),
            quote!(nagare::BidiClientStream<#sp, #r>),
        ),
        StreamKind::Unary => (quote!(()), quote!(())),
    };
    let sdoc = format!(" Server side of the `{}` stream.", m.method.name);
    let cdoc = format!(" Client side of the `{}` stream.", m.method.name);
    let resume = render_resume(m);
    quote! {
        #[doc = #sdoc]
        pub type #server = #server_ty;
        #[doc = #cdoc]
        pub type #client = #client_ty;
        #resume
    }
}

/// For a resumable method: the replay size the design asks for and, when the
/// stream is keyed, the payload's stream key.
fn render_resume(m: &MethodInfo) -> TokenStream {
    let Some(resume) = &m.method.resume else {
        return quote!();
    };
    let constant = ident(&format!(
        "{}_REPLAY",
        m.method.name.to_uppercase().replace('-', "_")
    ));
    let replay = proc_macro2::Literal::usize_unsuffixed(resume.replay);
    let cdoc = format!(
        " Messages the `{}` stream's replay log keeps (the design's `resumable` block): give it to `nagare::ReplayLog::new`.",
        m.method.name
    );
    let key = match (&m.payload, resume.key.is_empty()) {
        (Some(p), false) => {
            let parts: Vec<TokenStream> = resume
                .key
                .iter()
                .map(|k| {
                    let f = field_ident(k);
                    quote!(nagare::client::path_segment(&self.#f))
                })
                .collect();
            let body = match parts.as_slice() {
                [one] => one.clone(),
                _ => quote!([#(#parts),*].join("/")),
            };
            let how = if resume.key.len() == 1 {
                "percent-encoded"
            } else {
                "percent-encoded and joined with `/`"
            };
            let kdoc = format!(
                " Identifies the `{}` stream across connections: {}, {how}.",
                m.method.name,
                resume
                    .key
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            quote! {
                impl #p {
                    #[doc = #kdoc]
                    pub fn stream_key(&self) -> String {
                        #body
                    }
                }
            }
        }
        _ => quote!(),
    };
    quote! {
        #[doc = #cdoc]
        pub const #constant: usize = #replay;
        #key
    }
}

fn render_trait(service: &Service, methods: &[MethodInfo]) -> TokenStream {
    let fns = methods.iter().map(|m| {
        let id = m.fn_ident();
        let stream = m.server_stream();
        let d = doc(Some(m.method.description.as_deref().unwrap_or("No description in the design.")));
        let payload = m.payload.as_ref().map(|p| quote!(payload: #p,));
        if m.kind == StreamKind::Unary {
            let result = m.result.clone().unwrap_or_else(|| quote!(()));
            return quote! {
                #d
                fn #id(&self, #payload) -> impl ::std::future::Future<Output = Result<#result, Error>> + Send;
            };
        }
        quote! {
            #d
            fn #id(&self, #payload stream: #stream) -> impl ::std::future::Future<Output = Result<(), Error>> + Send;
        }
    });
    let mut kinds: Vec<SchemeKind> = Vec::new();
    for m in methods {
        for (scheme, _) in &m.security {
            if !kinds.contains(&scheme.kind) {
                kinds.push(scheme.kind.clone());
            }
        }
    }
    let hooks = kinds.iter().map(|k| match k {
        SchemeKind::Basic => quote! {
            /// Checks basic credentials before a method secured by a basic scheme runs
            /// (before the upgrade for streams). An error is answered as HTTP.
            fn basic_auth(&self, user: &str, password: &str, scheme: &nagare::security::BasicScheme) -> impl ::std::future::Future<Output = Result<(), Error>> + Send;
        },
        SchemeKind::Jwt => quote! {
            /// Checks a JWT and its scopes (`scheme.validate_scopes`) before a method
            /// secured by a JWT scheme runs (before the upgrade for streams). An error
            /// is answered as HTTP.
            fn jwt_auth(&self, token: &str, scheme: &nagare::security::JwtScheme) -> impl ::std::future::Future<Output = Result<(), Error>> + Send;
        },
        SchemeKind::ApiKey => quote! {
            /// Checks an API key before a method secured by an API-key scheme runs.
            fn api_key_auth(&self, key: &str, scheme: &nagare::security::ApiKeyScheme) -> impl ::std::future::Future<Output = Result<(), Error>> + Send;
        },
    });
    let tdoc = format!(
        " The `{}` service: implement it, then serve it with [`server::router`].\n\n Each method runs once per connection, in the connection's task. Returning\n `Ok(())` closes the stream with 1000; returning an error closes it with the\n error's code (see [`Error`]).",
        service.name
    );
    quote! {
        #[doc = #tdoc]
        pub trait Service: Send + Sync + 'static {
            #(#hooks)*
            #(#fns)*
        }
    }
}

fn render_errors(service: &Service) -> TokenStream {
    let mut seen = std::collections::HashSet::new();
    let designed: Vec<_> = service
        .methods
        .iter()
        .flat_map(|m| service.errors_of(m))
        .filter(|e| seen.insert(e.name.clone()))
        .collect();
    let variants = designed.iter().map(|e| {
        let v = type_ident(&e.name);
        let ty = rust_type(&e.ty, &format!("{}Error", pascal(&e.name)));
        let d = doc(Some(e.description.as_deref().unwrap_or("Designed error.")));
        quote!(#d #v(#ty),)
    });
    let name_arms = designed.iter().map(|e| {
        let v = type_ident(&e.name);
        let n = &e.name;
        quote!(Error::#v(_) => Some(#n),)
    });
    let message_arms = designed.iter().map(|e| {
        let v = type_ident(&e.name);
        let body = match &e.ty {
            Type::Primitive(Primitive::String) => quote!(v.clone()),
            Type::ErrorResult => quote!(v.message.clone()),
            _ => quote!(nagare::export::serde_json::to_string(v).unwrap_or_default()),
        };
        quote!(Error::#v(v) => #body,)
    });
    let http_arms = designed.iter().map(|e| {
        let v = type_ident(&e.name);
        let n = &e.name;
        quote!(Error::#v(v) => nagare::server::designed_error(#n, v, &self.message(), statuses),)
    });
    let decode_arms = designed.iter().map(|e| {
        let v = type_ident(&e.name);
        let n = &e.name;
        quote!(#n => nagare::export::serde_json::from_slice(body).ok().map(Error::#v),)
    });
    let close_arms = designed.iter().map(|e| {
        let v = type_ident(&e.name);
        let n = &e.name;
        let value = match &e.ty {
            Type::Primitive(Primitive::String) => quote!(Some(message.to_owned())),
            Type::ErrorResult => quote!(Some(nagare::GoaError::new(#n, message))),
            _ => quote!(nagare::export::serde_json::from_str(message).ok()),
        };
        quote!(#n => #value.map(Error::#v),)
    });
    let designed_close = if designed.is_empty() {
        quote!()
    } else {
        quote!(designed => nagare::ws::CloseFrame::new(nagare::CloseCode::DESIGNED_ERROR, designed.to_string()),)
    };
    quote! {
        /// Errors of the service's methods, on both sides.
        ///
        /// On the server, a designed error is answered before the upgrade with the
        /// status the method maps it to, a `Goa-Error` header and its JSON; after the
        /// upgrade it closes the stream with 4000 and the reason `<error name>:
        /// <message>`. [`Error::Stream`] closes with the stream error's code (1007 for
        /// an invalid message); [`Error::Internal`] with 1011 `internal error` (or HTTP
        /// 500), its text logged on the server and never sent. On the client, the
        /// same designed errors come back typed, from HTTP responses and close frames.
        #[derive(Debug)]
        pub enum Error {
            #(#variants)*
            /// A stream operation failed (invalid message, connection lost...).
            Stream(nagare::StreamError),
            /// A failure inside the service; its text stays on the server.
            Internal(String),
            /// A client call failed for a reason the design does not name.
            Client(nagare::ClientError),
        }

        impl Error {
            /// An internal error from anything printable.
            pub fn internal(e: impl ::std::fmt::Display) -> Self {
                Error::Internal(e.to_string())
            }

            /// The designed error's name, if this is one.
            pub fn name(&self) -> Option<&'static str> {
                #[allow(unreachable_patterns)]
                match self {
                    #(#name_arms)*
                    _ => None,
                }
            }

            fn message(&self) -> String {
                match self {
                    #(#message_arms)*
                    Error::Stream(e) => e.to_string(),
                    Error::Internal(e) => e.clone(),
                    Error::Client(e) => e.to_string(),
                }
            }

            /// The HTTP response for this error, given the method's designed statuses.
            pub fn to_http_response(&self, statuses: &[(&str, u16)]) -> nagare::export::axum::response::Response {
                let _ = statuses;
                match self {
                    #(#http_arms)*
                    Error::Stream(e) => nagare::server::internal_error(e),
                    Error::Internal(e) => nagare::server::internal_error(e),
                    Error::Client(e) => nagare::server::internal_error(e),
                }
            }

            /// The designed error an HTTP error response carries, if any.
            pub fn from_http(status: u16, designed: Option<&str>, body: &[u8], statuses: &[(&str, u16)]) -> Option<Self> {
                let status = nagare::export::axum::http::StatusCode::from_u16(status).ok()?;
                let _ = body;
                match nagare::client::designed_error_name(status, designed, statuses)? {
                    #(#decode_arms)*
                    _ => None,
                }
            }

            /// A client error, typed when it is a designed error the method maps.
            pub fn from_client(e: nagare::ClientError, statuses: &[(&str, u16)]) -> Self {
                if let nagare::ClientError::Refused { status, designed, body, .. } = &e {
                    if let Some(typed) = Self::from_http(status.as_u16(), designed.as_deref(), body.as_bytes(), statuses) {
                        return typed;
                    }
                }
                Error::Client(e)
            }

            /// The designed error a close frame carries (code 4000, reason
            /// `<name>: <message>`), if any.
            fn from_close(reason: &str) -> Option<Self> {
                let (name, message) = reason.split_once(": ")?;
                let _ = message;
                match name {
                    #(#close_arms)*
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for Error {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(name) => write!(f, "{name}: {}", self.message()),
                    None => f.write_str(&self.message()),
                }
            }
        }

        impl ::std::error::Error for Error {}

        /// Stream errors; a close frame carrying a designed error becomes that error.
        impl ::std::convert::From<nagare::StreamError> for Error {
            fn from(e: nagare::StreamError) -> Self {
                if let nagare::StreamError::Closed { code: nagare::CloseCode::DESIGNED_ERROR, reason } = &e {
                    if let Some(typed) = Error::from_close(reason) {
                        return typed;
                    }
                }
                Error::Stream(e)
            }
        }

        impl nagare::StreamFailure for Error {
            fn close_frame(&self) -> nagare::ws::CloseFrame {
                match self {
                    Error::Stream(e) => e.close_frame(),
                    Error::Internal(_) | Error::Client(_) => nagare::ws::CloseFrame::new(nagare::CloseCode::INTERNAL, "internal error"),
                    #designed_close
                }
            }
        }
    }
}

/// How the server reads one payload attribute from the request.
pub(crate) struct Element<'a> {
    pub attr: &'a nagare_design::Attribute,
    pub location: Location,
    pub wire: String,
    pub required: bool,
}

/// The mapped attributes of a method's payload.
pub(crate) fn elements<'a>(m: &'a MethodInfo) -> Vec<Element<'a>> {
    let Some(obj) = m.method.payload.as_ref().and_then(Type::object) else {
        return Vec::new();
    };
    obj.attributes
        .iter()
        .filter_map(|attr| {
            let (location, wire) = match m.endpoint.location_of(attr, &m.route) {
                Some(found) => found,
                // Unary methods carry what is left in the JSON body.
                None if m.kind == StreamKind::Unary => (Location::Body, attr.name.clone()),
                None => return None,
            };
            Some(Element {
                attr,
                location,
                wire,
                required: obj.is_required(&attr.name),
            })
        })
        .collect()
}

/// Whether the payload's attribute is a plain field.
pub(crate) fn element_is_plain(m: &MethodInfo, e: &Element) -> bool {
    m.method
        .payload
        .as_ref()
        .and_then(Type::object)
        .is_some_and(|o| is_plain(o, e.attr))
}

/// The default value of an element, as a Rust expression.
pub(crate) fn element_default(e: &Element) -> Option<TokenStream> {
    match (&e.attr.default, e.attr.ty.primitive()) {
        (Some(d), Some(p)) => Some(literal(p, d)),
        _ => None,
    }
}
