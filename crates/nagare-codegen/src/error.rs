//! The generated `Error` enum of a service: one variant per designed error, and
//! the failures every service shares. The enum only says which variant is which
//! (`nagare::codegen::ServiceError`); HTTP responses, close frames, `Display`
//! and decoding on the client are the runtime's, written once.

use nagare_design::{ErrorDef, Service, Type};
use proc_macro2::TokenStream;
use quote::quote;

use crate::docs::doc_or;
use crate::names::Scope;
use crate::names::{pascal, type_ident};
use crate::types::rust_type;

/// The designed errors of a service, each once, in declaration order.
pub(crate) fn designed(service: &Service) -> Vec<&ErrorDef> {
    let mut seen = std::collections::HashSet::new();
    service
        .methods
        .iter()
        .flat_map(|m| service.errors_of(m))
        .filter(|e| seen.insert(e.name.clone()))
        .collect()
}

/// The Rust type of a designed error's value.
pub(crate) fn value_type(e: &ErrorDef) -> TokenStream {
    rust_type(&e.ty, &format!("{}Error", pascal(&e.name)), Scope::Service)
}

pub(crate) fn render(service: &Service) -> TokenStream {
    let designed = designed(service);
    let variants = designed.iter().map(|e| {
        let v = type_ident(&e.name);
        let ty = value_type(e);
        let d = doc_or(e.description.as_deref(), "A designed error.");
        quote!(#d #v(#ty),)
    });
    let names = designed.iter().map(|e| e.name.as_str());
    let shape_arms = designed.iter().map(|e| {
        let v = type_ident(&e.name);
        let n = &e.name;
        quote!(Error::#v(v) => nagare::codegen::Shape::Designed { name: #n, value: v },)
    });
    let decode_arms: Vec<TokenStream> = designed
        .iter()
        .map(|e| {
            let v = type_ident(&e.name);
            let n = &e.name;
            quote!(#n => value.decode().map(Error::#v),)
        })
        .collect();
    let designed_fn = if decode_arms.is_empty() {
        quote! {
            fn designed(_name: &str, _value: nagare::codegen::Encoded<'_>) -> Option<Self> {
                None
            }
        }
    } else {
        quote! {
            fn designed(name: &str, value: nagare::codegen::Encoded<'_>) -> Option<Self> {
                match name {
                    #(#decode_arms)*
                    _ => None,
                }
            }
        }
    };
    // Designed errors of an object type travel as their JSON.
    let value_impls = designed
        .iter()
        .filter(|e| matches!(e.ty, Type::User(_) | Type::Object(_)))
        .map(|e| {
            let ty = value_type(e);
            quote! {
                impl nagare::codegen::DesignedValue for #ty {}
            }
        });
    quote! {
        /// Errors of the service's methods, on both sides.
        ///
        /// On the server, a designed error is answered before the upgrade with the
        /// status the method maps it to, a `Goa-Error` header and its JSON; after the
        /// upgrade it closes the stream with 4000 and the reason `<error name>:
        /// <message>`. [`Error::Stream`] closes with the stream error's code (1007 for
        /// an invalid message); [`Error::Internal`] with 1011 `internal error` (or HTTP
        /// 500), logged on the server with its causes and never sent. On the client,
        /// the same designed errors come back typed, from HTTP responses and close
        /// frames.
        #[derive(Debug)]
        pub enum Error {
            #(#variants)*
            /// A stream operation failed (invalid message, connection lost...).
            Stream(nagare::StreamError),
            /// A failure inside the service: logged on the server with its causes,
            /// answered as `internal error`.
            Internal(nagare::codegen::BoxError),
            /// A client call failed for a reason the design does not name.
            Client(nagare::ClientError),
        }

        impl Error {
            /// An internal error, keeping `error` (and its causes) for the server's log.
            pub fn internal(error: impl Into<nagare::codegen::BoxError>) -> Self {
                Error::Internal(error.into())
            }

            /// The designed error's name, if this is one.
            pub fn name(&self) -> Option<&'static str> {
                nagare::codegen::designed_name(self)
            }
        }

        impl nagare::codegen::ServiceError for Error {
            const DESIGNED: &'static [&'static str] = &[#(#names),*];

            fn shape(&self) -> nagare::codegen::Shape<'_> {
                match self {
                    #(#shape_arms)*
                    Error::Stream(e) => nagare::codegen::Shape::Stream(e),
                    Error::Internal(e) => nagare::codegen::Shape::Internal(e.as_ref()),
                    Error::Client(e) => nagare::codegen::Shape::Client(e),
                }
            }

            #designed_fn

            fn stream(error: nagare::StreamError) -> Self {
                Error::Stream(error)
            }

            fn client(error: nagare::ClientError) -> Self {
                Error::Client(error)
            }
        }

        impl ::std::fmt::Display for Error {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                nagare::codegen::fmt_error(self, f)
            }
        }

        impl ::std::error::Error for Error {
            fn source(&self) -> Option<&(dyn ::std::error::Error + 'static)> {
                nagare::codegen::error_source(self)
            }
        }

        /// Stream errors; a close frame carrying a designed error becomes that error.
        impl From<nagare::StreamError> for Error {
            fn from(error: nagare::StreamError) -> Self {
                nagare::codegen::from_stream(error)
            }
        }

        /// A room's broker failed: the stream ends with 1013 (try again later)
        /// when the broker is unreachable.
        impl From<nagare::broker::BrokerError> for Error {
            fn from(error: nagare::broker::BrokerError) -> Self {
                Error::Stream(nagare::StreamError::Broker(error))
            }
        }

        #(#value_impls)*
    }
}
