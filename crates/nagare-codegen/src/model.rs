//! What the generators know about one method, worked out once from the design:
//! its names, its Rust types, its route, its designed errors and security, and
//! where each payload attribute travels. The service, server, client and
//! command-line generators all read it; none of them imports another.

use nagare_design::{
    Api, Attribute, Credential, HttpEndpoint, Location, Method, Object, Primitive, Route,
    SecurityScheme, Service, StreamKind, Type,
};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::enums::{enum_type, EnumType};
use crate::names::Scope;
use crate::names::{const_ident, field_ident, ident, pascal, type_ident};
use crate::types::{attr_value, is_plain, rust_type};
use crate::GenerateError;

/// One method of a service, as the generators see it.
pub(crate) struct MethodInfo<'a> {
    pub(crate) method: &'a Method,
    pub(crate) kind: StreamKind,
    /// `Echo`: prefix of generated names.
    pub(crate) pascal: String,
    pub(crate) endpoint: &'a HttpEndpoint,
    /// The first route, with the service prefix.
    pub(crate) route: Route,
    /// Designed errors mapped to HTTP statuses: the method's, then the service's.
    pub(crate) statuses: Vec<(String, u16)>,
    /// The schemes securing the method, with the scopes it requires.
    pub(crate) security: Vec<(&'a SecurityScheme, Vec<String>)>,
}

impl<'a> MethodInfo<'a> {
    pub(crate) fn new(
        api: &'a Api,
        service: &'a Service,
        method: &'a Method,
    ) -> Result<Self, GenerateError> {
        let unsupported = |what: &str| GenerateError::Unsupported {
            service: service.name.clone(),
            method: method.name.clone(),
            what: what.to_owned(),
        };
        // Design validation refuses both; a design that skipped it gets an error,
        // not a panic.
        let endpoint = method
            .http
            .as_ref()
            .ok_or_else(|| unsupported("a method without an HTTP mapping"))?;
        let first = endpoint
            .routes
            .first()
            .ok_or_else(|| unsupported("an HTTP mapping without a route"))?;
        let route = Route {
            verb: first.verb,
            path: format!(
                "{}{}",
                service.http.path.as_deref().unwrap_or(""),
                first.path
            ),
            source: first.source,
        };
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
        let info = MethodInfo {
            method,
            kind: method.kind(),
            pascal: pascal(&method.name),
            endpoint,
            route,
            statuses,
            security,
        };
        for e in info.elements() {
            let element_bytes = e.location != Location::Body
                && matches!(e.attr.ty.primitive(), Some(Primitive::Bytes));
            if element_bytes {
                return Err(unsupported(&format!(
                    "the bytes attribute {:?} in the {} (bytes travel in JSON bodies only)",
                    e.attr.name,
                    e.location.goa_context()
                )));
            }
        }
        Ok(info)
    }

    /// The type of the initial payload.
    pub(crate) fn payload(&self, scope: Scope) -> Option<TokenStream> {
        let name = format!("{}Payload", self.pascal);
        self.method
            .payload
            .as_ref()
            .map(|t| rust_type(t, &name, scope))
    }

    /// The name of the payload's type: its user type's, or the inline
    /// object's (`<Method>Payload`).
    pub(crate) fn payload_type_name(&self) -> String {
        match &self.method.payload {
            Some(Type::User(u)) => pascal(&u.name),
            _ => format!("{}Payload", self.pascal),
        }
    }

    /// The type of each message the client streams.
    pub(crate) fn streaming_payload(&self, scope: Scope) -> Option<TokenStream> {
        let name = format!("{}StreamingPayload", self.pascal);
        self.method
            .streaming_payload
            .as_ref()
            .map(|t| rust_type(t, &name, scope))
    }

    /// The design type of the result: the streamed one, or the single result of
    /// a unary method or a client stream.
    pub(crate) fn result_design_type(&self) -> Option<&'a Type> {
        match self.kind {
            StreamKind::ClientWithResult | StreamKind::Unary => self.method.result.as_ref(),
            _ => self.method.streaming_result.as_ref(),
        }
    }

    /// The type of the result.
    pub(crate) fn result(&self, scope: Scope) -> Option<TokenStream> {
        let name = format!("{}Result", self.pascal);
        self.result_design_type()
            .map(|t| rust_type(t, &name, scope))
    }

    /// The result type with views, when it has several and the method does not
    /// pin one: the client picks, the server says which in `Goa-View`.
    pub(crate) fn viewed(&self, scope: Scope) -> Option<TokenStream> {
        self.result_design_type()
            .and_then(Type::viewed)
            .filter(|u| u.views().len() > 1 && self.method.result_view.is_none())
            .map(|u| {
                let id = type_ident(&u.name);
                match scope {
                    Scope::Service => quote!(#id),
                    Scope::Child => quote!(super::#id),
                }
            })
    }

    /// The view the method pins its result to.
    pub(crate) fn pinned_view(&self) -> Option<&'a str> {
        self.method.result_view.as_deref()
    }

    /// The success status of a unary method, as a literal.
    pub(crate) fn success_status(&self) -> proc_macro2::Literal {
        let status = self
            .endpoint
            .status
            .unwrap_or(if self.method.result.is_some() {
                200
            } else {
                204
            });
        proc_macro2::Literal::u16_unsuffixed(status)
    }

    /// The method's statuses as a `&[(&str, u16)]` expression: a `STATUSES`
    /// constant the caller declares with [`statuses_const`](Self::statuses_const),
    /// or `&[]` when the method maps no error.
    pub(crate) fn statuses_expr(&self) -> TokenStream {
        if self.statuses.is_empty() {
            quote!(&[])
        } else {
            quote!(STATUSES)
        }
    }

    /// `const STATUSES: &[(&str, u16)] = ...;` for the method's designed errors,
    /// or nothing when it maps none.
    pub(crate) fn statuses_const(&self) -> TokenStream {
        if self.statuses.is_empty() {
            return quote!();
        }
        let entries = self.statuses.iter().map(|(n, s)| {
            let s = proc_macro2::Literal::u16_unsuffixed(*s);
            quote!((#n, #s))
        });
        quote! {
            /// The statuses of the method's designed errors.
            const STATUSES: &[(&str, u16)] = &[#(#entries),*];
        }
    }

    /// The method's function name (`echo`, `r#type`).
    pub(crate) fn fn_ident(&self) -> Ident {
        field_ident(&self.method.name)
    }

    /// The method's name without `r#`, for derived names (`handle_echo`).
    pub(crate) fn plain_name(&self) -> String {
        self.fn_ident()
            .to_string()
            .trim_start_matches("r#")
            .to_owned()
    }

    /// The constant naming the endpoint (`ECHO`).
    pub(crate) fn endpoint_const(&self) -> Ident {
        const_ident(&self.method.name)
    }

    /// `EchoServerStream`.
    pub(crate) fn server_stream(&self) -> Ident {
        ident(&format!("{}ServerStream", self.pascal))
    }

    /// `EchoClientStream`.
    pub(crate) fn client_stream(&self) -> Ident {
        ident(&format!("{}ClientStream", self.pascal))
    }

    /// Whether the server stream follows a room, and so survives
    /// reconnections (`nagare.v1`).
    pub(crate) fn is_resumable(&self) -> bool {
        self.method.room.is_some()
    }

    /// The payload's object, if it has one.
    pub(crate) fn payload_object(&self) -> Option<&'a Object> {
        self.method.payload.as_ref().and_then(Type::object)
    }

    /// The mapped attributes of the payload.
    pub(crate) fn elements(&self) -> Vec<Element<'a>> {
        let Some(obj) = self.payload_object() else {
            return Vec::new();
        };
        let owner = self.payload_type_name();
        obj.attributes
            .iter()
            .filter_map(|attr| {
                let (location, wire) = match self.endpoint.location_of(attr, &self.route) {
                    Some(found) => found,
                    // Unary methods carry what is left in the JSON body.
                    None if self.kind == StreamKind::Unary => (Location::Body, attr.name.clone()),
                    None => return None,
                };
                Some(Element {
                    attr,
                    owner: owner.clone(),
                    location,
                    wire,
                    required: obj.is_required(&attr.name),
                    plain: is_plain(obj, attr),
                })
            })
            .collect()
    }

    /// `Some(required)` when the payload has a string `view` attribute choosing
    /// the result view.
    pub(crate) fn view_attribute(&self) -> Option<bool> {
        let obj = self.payload_object()?;
        let attr = obj.get("view")?;
        (attr.ty.primitive() == Some(Primitive::String)).then(|| is_plain(obj, attr))
    }

    /// The payload expression (`&payload.token` or
    /// `payload.token.as_deref().unwrap_or_default()`) for the attribute carrying
    /// a credential, or `""` when there is none.
    pub(crate) fn credential(&self, c: &Credential) -> TokenStream {
        let obj = self.payload_object();
        match obj.and_then(|o| o.credential_attribute(c)) {
            Some(a) => {
                let f = field_ident(&a.name);
                if obj.is_some_and(|o| is_plain(o, a)) {
                    quote!(payload.#f.as_str())
                } else {
                    quote!(payload.#f.as_deref().unwrap_or_default())
                }
            }
            None => quote!(""),
        }
    }
}

/// One payload attribute, and where it travels in the request.
pub(crate) struct Element<'a> {
    pub(crate) attr: &'a Attribute,
    /// The name of the payload's type (its enums are named after it).
    pub(crate) owner: String,
    pub(crate) location: Location,
    /// The name on the wire (query key, header, cookie).
    pub(crate) wire: String,
    pub(crate) required: bool,
    /// A plain field (required or defaulted) rather than an `Option`.
    pub(crate) plain: bool,
}

impl Element<'_> {
    /// The default value as a Rust expression (from the service's
    /// submodules), if the design gives one.
    pub(crate) fn default_value(&self) -> Option<TokenStream> {
        let d = self.attr.default.as_ref()?;
        attr_value(&self.owner, self.attr, d, Scope::Child)
    }

    /// The Rust enum of the element's values, when the design lists them.
    pub(crate) fn enum_type(&self) -> Option<EnumType> {
        enum_type(&self.owner, self.attr)
    }
}
