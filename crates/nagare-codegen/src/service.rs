//! One service module: its types, its `Error`, the service trait, the stream
//! handles of its methods, the constants naming its endpoints, and the server,
//! client and command-line submodules the other generators render.

use nagare_design::{Api, SchemeKind, Service, StreamKind};
use proc_macro2::TokenStream;
use quote::quote;

use crate::docs::doc;
use crate::model::MethodInfo;
use crate::names::Scope;
use crate::names::{field_ident, pascal, snake};
use crate::types::TypeSet;
use crate::{GenerateError, Sides};

/// Registers the types every method of the service uses.
fn collect_types(service: &Service) -> TypeSet {
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
    for e in crate::error::designed(service) {
        set.add(
            &e.ty,
            &format!("{}Error", pascal(&e.name)),
            e.description.as_deref(),
        );
    }
    set
}

/// Names the service module declares or takes from the prelude: a design type
/// with one of them would shadow it. The server, client and command-line
/// submodules name design types by path (`super::Event`), so their own names
/// (`Client`, `Command`, `Shared`...) need no reservation.
const RESERVED_TYPE_NAMES: &[&str] = &[
    "Error",
    "Service",
    "Serialize",
    "Deserialize",
    "String",
    "Vec",
    "Option",
    "Result",
    "Box",
];

/// The variants every `Error` has besides the designed errors.
const ERROR_VARIANTS: &[&str] = &["Stream", "Internal", "Client"];

/// The trait's security hooks, which methods must not be named after.
const HOOKS: &[&str] = &["basic_auth", "jwt_auth", "api_key_auth"];

/// The first name of the service's generated code that two things would share.
fn name_clash(service: &Service, set: &TypeSet) -> Option<(String, String)> {
    if let Some(name) = &set.clash {
        return Some((
            name.clone(),
            "another type of the service by that name".into(),
        ));
    }
    let mut stream_aliases = std::collections::HashMap::new();
    for m in &service.methods {
        let p = pascal(&m.name);
        for alias in [format!("{p}ServerStream"), format!("{p}ClientStream")] {
            if let Some(other) = stream_aliases.insert(alias.clone(), m.name.clone()) {
                return Some((alias, format!("the stream of method {other:?}")));
            }
        }
        if HOOKS.contains(&snake(&m.name).as_str()) {
            return Some((m.name.clone(), "the service trait's security hook".into()));
        }
    }
    let has_rooms = service.methods.iter().any(|m| m.room.is_some());
    for d in &set.decls {
        if RESERVED_TYPE_NAMES.contains(&d.name.as_str()) || (has_rooms && d.name == "Rooms") {
            return Some((d.name.clone(), "a name the generated module uses".into()));
        }
        if let Some(method) = stream_aliases.get(&d.name) {
            return Some((d.name.clone(), format!("the stream of method {method:?}")));
        }
    }
    let mut variants = std::collections::HashMap::new();
    for e in crate::error::designed(service) {
        let v = pascal(&e.name);
        if ERROR_VARIANTS.contains(&v.as_str()) {
            return Some((
                e.name.clone(),
                format!("the Error::{v} variant every service has"),
            ));
        }
        if let Some(other) = variants.insert(v.clone(), e.name.clone()) {
            return Some((
                e.name.clone(),
                format!("error {other:?} (both are Error::{v})"),
            ));
        }
    }
    None
}

/// The whole module of a service.
pub(crate) fn render(
    api: &Api,
    service: &Service,
    sides: Sides,
) -> Result<TokenStream, GenerateError> {
    let set = collect_types(service);
    if let Some((name, with)) = name_clash(service, &set) {
        return Err(GenerateError::NameClash {
            service: service.name.clone(),
            name,
            with,
        });
    }
    let methods = service
        .methods
        .iter()
        .map(|m| MethodInfo::new(api, service, m))
        .collect::<Result<Vec<_>, _>>()?;
    let module = field_ident(&snake(&service.name));
    let mod_doc = doc(&format!(
        "{}\n\nGenerated from the `{}` service of the `{}` design.",
        service
            .description
            .as_deref()
            .unwrap_or("Service without a description."),
        service.name,
        api.name
    ));
    let service_name = &service.name;
    let types = set.render();
    let serde = (!set.decls.is_empty()).then(|| {
        quote!(
            use nagare::codegen::serde::{Deserialize, Serialize};
        )
    });
    let errors = crate::error::render(service);
    let streams = methods.iter().map(|m| render_stream_aliases(m, sides));
    let server_side = sides.server.then(|| {
        let trait_ = render_trait(service, &methods);
        let rooms = crate::rooms::render(service, &methods);
        let endpoints = render_endpoints(service, &methods);
        let server = crate::server::render(service, &methods);
        quote!(#trait_ #rooms #endpoints #server)
    });
    let client = sides
        .client
        .then(|| crate::client::render(service, &methods));
    let cli = sides
        .cli
        .then(|| crate::cli::render_service(service, &methods));
    Ok(quote! {
        #mod_doc
        pub mod #module {
            #serde

            /// Name of the service in the design.
            pub const SERVICE: &str = #service_name;

            #types
            #errors
            #(#streams)*
            #server_side
            #client
            #cli
        }
    })
}

/// The stream handle types of a streaming method, on the sides generated.
fn render_stream_aliases(m: &MethodInfo, sides: Sides) -> TokenStream {
    if m.kind == StreamKind::Unary {
        return quote!();
    }
    let server = m.server_stream();
    let client = m.client_stream();
    let sp = m
        .streaming_payload(Scope::Service)
        .unwrap_or_else(|| quote!(()));
    let r = m.result(Scope::Service).unwrap_or_else(|| quote!(()));
    let (server_ty, client_ty) = match m.kind {
        StreamKind::Server if m.is_resumable() => (
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
        StreamKind::Bidirectional if m.is_resumable() => (
            quote!(nagare::BidiServerStream<#sp, #r>),
            quote!(nagare::ResumableBidiStream<#sp, #r>),
        ),
        StreamKind::Bidirectional | StreamKind::Unary => (
            quote!(nagare::BidiServerStream<#sp, #r>),
            quote!(nagare::BidiClientStream<#sp, #r>),
        ),
    };
    let sdoc = format!(" Server side of the `{}` stream.", m.method.name);
    let cdoc = format!(" Client side of the `{}` stream.", m.method.name);
    let server = sides.server.then(|| {
        quote! {
            #[doc = #sdoc]
            pub type #server = #server_ty;
        }
    });
    let client = sides.client.then(|| {
        quote! {
            #[doc = #cdoc]
            pub type #client = #client_ty;
        }
    });
    quote!(#server #client)
}

/// One constant per streaming method, naming its endpoint for settings from
/// code (`ServerOptions::set_endpoint(chat::endpoints::ECHO, ..)`).
fn render_endpoints(service: &Service, methods: &[MethodInfo]) -> TokenStream {
    let consts: Vec<TokenStream> = methods
        .iter()
        .filter(|m| m.kind.is_streaming())
        .map(|m| {
            let c = m.endpoint_const();
            let s = &service.name;
            let n = &m.method.name;
            let d = format!(
                " The `{}` endpoint (`GET {}`).",
                m.method.name, m.route.path
            );
            quote! {
                #[doc = #d]
                pub const #c: nagare::EndpointName = nagare::codegen::endpoint_name(#s, #n);
            }
        })
        .collect();
    if consts.is_empty() {
        return quote!();
    }
    quote! {
        /// The service's streaming endpoints, to configure them from code with
        /// `nagare::ServerOptions::set_endpoint`.
        pub mod endpoints {
            #(#consts)*
        }
    }
}

fn render_trait(service: &Service, methods: &[MethodInfo]) -> TokenStream {
    let fns = methods.iter().map(|m| {
        let id = m.fn_ident();
        let stream = m.server_stream();
        let mut text = m
            .method
            .description
            .clone()
            .unwrap_or_else(|| "No description in the design.".to_owned());
        for target in &m.method.publishes {
            text.push_str(&format!(
                "\n\nPublishes into the `{target}` room ([`Rooms::{}`]).",
                snake(target)
            ));
        }
        let d = doc(&text);
        let payload = m.payload(Scope::Service).map(|p| quote!(payload: #p,));
        if m.kind == StreamKind::Unary {
            let result = m.result(Scope::Service).unwrap_or_else(|| quote!(()));
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
    let tdoc = doc(&format!(
        "The `{}` service: implement it, then serve it with [`server::router`].\n\nEach method runs once per connection, in the connection's task. Returning\n`Ok(())` closes the stream with 1000; returning an error closes it with the\nerror's code (see [`Error`]).",
        service.name
    ));
    quote! {
        #tdoc
        pub trait Service: Send + Sync + 'static {
            #(#hooks)*
            #(#fns)*
        }
    }
}
