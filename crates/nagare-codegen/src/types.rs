//! Generated data types: structs with serde, `validate()`, views, and the
//! `nagare::Message` implementation that puts them on the wire.

use std::collections::HashMap;

use nagare_design::{Attribute, Bound, Format, Object, Primitive, Type, UserType, View};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::docs::{doc, doc_or};
use crate::enums::enum_type;
use crate::names::{field_ident, ident, pascal, snake, type_ident, Scope};

/// A struct to generate.
pub(crate) struct Decl {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) object: Object,
    /// Views of a result type that has more than the default one.
    pub(crate) views: Option<Vec<View>>,
}

/// The named types of one service, in first-use order.
#[derive(Default)]
pub(crate) struct TypeSet {
    pub(crate) decls: Vec<Decl>,
    by_name: HashMap<String, usize>,
    /// The first name given to two different types.
    pub(crate) clash: Option<String>,
}

impl TypeSet {
    /// Registers the declarations `ty` needs; inline objects are named `inline_name`.
    pub(crate) fn add(&mut self, ty: &Type, inline_name: &str, description: Option<&str>) {
        match ty {
            Type::Primitive(_) | Type::ErrorResult => {}
            Type::Array(elem) => self.add(elem, inline_name, None),
            Type::Map(_, v) => self.add(v, inline_name, None),
            Type::Object(obj) => {
                self.add_object(inline_name, description.map(str::to_owned), obj, None)
            }
            Type::User(u) | Type::Collection(u) => self.add_user(u),
        }
    }

    fn add_user(&mut self, u: &UserType) {
        let views = u.result.as_ref().map(|_| u.views()).filter(|v| v.len() > 1);
        self.add_object(&u.name, u.description.clone(), &u.object, views);
    }

    fn add_object(
        &mut self,
        name: &str,
        description: Option<String>,
        obj: &Object,
        views: Option<Vec<View>>,
    ) {
        let name = pascal(name);
        if let Some(&i) = self.by_name.get(&name) {
            let same = self.decls[i].object == *obj && self.decls[i].views == views;
            if !same && self.clash.is_none() {
                self.clash = Some(name);
            }
            return;
        }
        self.by_name.insert(name.clone(), self.decls.len());
        // Placeholder first, so that a recursive reference finds the name taken.
        self.decls.push(Decl {
            name: name.clone(),
            description: description.or_else(|| obj.description.clone()),
            object: obj.clone(),
            views,
        });
        for attr in &obj.attributes {
            self.add(
                &attr.ty,
                &format!("{name}{}", pascal(&attr.name)),
                attr.description.as_deref(),
            );
        }
    }

    /// Renders every declaration.
    pub(crate) fn render(&self) -> TokenStream {
        let decls = self.decls.iter().map(render_decl);
        quote!(#(#decls)*)
    }
}

/// The Rust type of a design type, named from `scope`; inline objects are
/// named `inline_name`.
pub(crate) fn rust_type(ty: &Type, inline_name: &str, scope: Scope) -> TokenStream {
    let named = |id: proc_macro2::Ident| match scope {
        Scope::Service => quote!(#id),
        Scope::Child => quote!(super::#id),
    };
    match ty {
        Type::Primitive(p) => primitive(*p),
        Type::Array(elem) => {
            let e = rust_type(elem, inline_name, scope);
            quote!(Vec<#e>)
        }
        Type::Map(k, v) => {
            let k = rust_type(k, inline_name, scope);
            let v = rust_type(v, inline_name, scope);
            quote!(::std::collections::HashMap<#k, #v>)
        }
        Type::Object(_) => named(type_ident(inline_name)),
        Type::User(u) => named(type_ident(&u.name)),
        Type::Collection(u) => {
            let id = named(type_ident(&u.name));
            quote!(Vec<#id>)
        }
        Type::ErrorResult => quote!(nagare::GoaError),
    }
}

fn primitive(p: Primitive) -> TokenStream {
    match p {
        Primitive::Boolean => quote!(bool),
        Primitive::Int | Primitive::Int64 => quote!(i64),
        Primitive::Int32 => quote!(i32),
        Primitive::UInt | Primitive::UInt64 => quote!(u64),
        Primitive::UInt32 => quote!(u32),
        Primitive::Float32 => quote!(f32),
        Primitive::Float64 => quote!(f64),
        Primitive::String => quote!(String),
        Primitive::Bytes => quote!(nagare::message::Bytes),
        Primitive::Any => quote!(nagare::codegen::serde_json::Value),
    }
}

/// A Rust literal for a design value of primitive type `p`.
pub(crate) fn literal(p: Primitive, v: &serde_json::Value) -> TokenStream {
    match (p, v) {
        (Primitive::String, serde_json::Value::String(s)) => quote!(String::from(#s)),
        (Primitive::Boolean, serde_json::Value::Bool(b)) => quote!(#b),
        (Primitive::Float32 | Primitive::Float64, n) => {
            let f = Literal::f64_unsuffixed(n.as_f64().unwrap_or_default());
            quote!(#f)
        }
        (_, serde_json::Value::Number(n)) if n.is_i64() => {
            let i = Literal::i64_unsuffixed(n.as_i64().unwrap_or_default());
            quote!(#i)
        }
        (_, serde_json::Value::Number(n)) => {
            let u = Literal::u64_unsuffixed(n.as_u64().unwrap_or_default());
            quote!(#u)
        }
        (_, other) => {
            let s = other.to_string();
            quote!(nagare::codegen::serde_json::from_str(#s).unwrap_or_default())
        }
    }
}

/// Whether the attribute is a plain field (required, or with a default) rather
/// than an `Option`.
pub(crate) fn is_plain(obj: &Object, attr: &Attribute) -> bool {
    obj.is_required(&attr.name) || attr.default.is_some()
}

/// The Rust type of attribute `attr` of type `owner`, named from `scope`:
/// its enum when the design lists its values, else its type's.
pub(crate) fn attr_type(owner: &str, attr: &Attribute, scope: Scope) -> TokenStream {
    match enum_type(owner, attr) {
        Some(e) => e.path(scope),
        None => rust_type(&attr.ty, &format!("{owner}{}", pascal(&attr.name)), scope),
    }
}

/// A Rust expression for design value `v` of attribute `attr` of `owner`
/// (its default, say), named from `scope`.
pub(crate) fn attr_value(
    owner: &str,
    attr: &Attribute,
    v: &serde_json::Value,
    scope: Scope,
) -> Option<TokenStream> {
    if let Some(e) = enum_type(owner, attr) {
        return e.value(v, scope);
    }
    attr.ty.primitive().map(|p| literal(p, v))
}

/// The Rust type of an attribute's field.
fn field_type(owner: &str, obj: &Object, attr: &Attribute) -> TokenStream {
    let ty = attr_type(owner, attr, Scope::Service);
    if is_plain(obj, attr) {
        ty
    } else {
        quote!(Option<#ty>)
    }
}

fn render_decl(d: &Decl) -> TokenStream {
    let name = type_ident(&d.name);
    let type_doc = doc_or(
        d.description.as_deref(),
        &format!("{} (no description in the design).", d.name),
    );
    let in_all_views = |attr: &str| {
        d.views
            .as_ref()
            .is_none_or(|vs| vs.iter().all(|v| v.attributes.iter().any(|a| a == attr)))
    };
    let mut defaults = Vec::new();
    let fields = d.object.attributes.iter().map(|attr| {
        let id = field_ident(&attr.name);
        let ty = field_type(&d.name, &d.object, attr);
        let fdoc = doc_or(
            attr.description.as_deref(),
            &format!("The `{}` attribute.", attr.name),
        );
        let mut serde_args = Vec::new();
        if snake(&attr.name) != attr.name {
            let wire = &attr.name;
            serde_args.push(quote!(rename = #wire));
        }
        if !is_plain(&d.object, attr) {
            serde_args.push(quote!(default, skip_serializing_if = "Option::is_none"));
        } else if let Some(lit) = attr
            .default
            .as_ref()
            .and_then(|v| attr_value(&d.name, attr, v, Scope::Service))
        {
            let f = format!("default_{}", snake(&attr.name));
            let fid = ident(&f);
            let path = format!("{}::{f}", d.name);
            let pty = attr_type(&d.name, attr, Scope::Service);
            let ddoc = doc(&format!("The `{}` of an absent attribute.", attr.name));
            defaults.push(quote! {
                #ddoc
                fn #fid() -> #pty {
                    #lit
                }
            });
            serde_args.push(quote!(default = #path));
        } else if !in_all_views(&attr.name) {
            // Absent when the result is rendered with a view that omits it.
            serde_args.push(quote!(default));
        }
        let serde_attr = if serde_args.is_empty() {
            quote!()
        } else {
            quote!(#[serde(#(#serde_args),*)])
        };
        quote! {
            #fdoc
            #serde_attr
            pub #id: #ty,
        }
    });
    let fields: Vec<TokenStream> = fields.collect();
    let defaults_impl = if defaults.is_empty() {
        quote!()
    } else {
        quote!(impl #name { #(#defaults)* })
    };
    let (validate, message) = match &d.views {
        None => render_plain(d, &name),
        Some(views) => render_views(d, &name, views),
    };
    let enums = d
        .object
        .attributes
        .iter()
        .filter_map(|a| enum_type(&d.name, a))
        .map(|e| e.render());
    quote! {
        #type_doc
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(crate = "nagare::codegen::serde")]
        pub struct #name {
            #(#fields)*
        }

        #defaults_impl
        #validate
        #message
        #(#enums)*
    }
}

/// `validate()` and the wire format of a type without views.
fn render_plain(d: &Decl, name: &proc_macro2::Ident) -> (TokenStream, TokenStream) {
    let checks: Vec<TokenStream> = d
        .object
        .attributes
        .iter()
        .filter_map(|a| attr_checks(&d.object, a))
        .collect();
    let body = if checks.is_empty() {
        quote!(Ok(()))
    } else {
        quote! {
            let mut errs = nagare::ValidationErrors::new();
            #(#checks)*
            errs.finish()
        }
    };
    (
        quote! {
            impl nagare::Validate for #name {
                fn validate(&self) -> Result<(), nagare::ValidationError> {
                    #body
                }
            }
        },
        quote! {
            impl nagare::message::JsonMessage for #name {}
        },
    )
}

/// Views of a result type: the view list, per-view projections for encoding,
/// per-view required attributes and validations for decoding. A view the type
/// does not have is an error everywhere, never "no attributes".
fn render_views(d: &Decl, name: &proc_macro2::Ident, views: &[View]) -> (TokenStream, TokenStream) {
    let view_names: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
    let attrs_of = |v: &View| -> Vec<&Attribute> {
        d.object
            .attributes
            .iter()
            .filter(|a| v.attributes.iter().any(|n| n == &a.name))
            .collect()
    };
    let attr_arms = views.iter().map(|v| {
        let n = &v.name;
        let list: Vec<&str> = attrs_of(v).iter().map(|a| a.name.as_str()).collect();
        quote!(#n => Some(&[#(#list),*]),)
    });
    let required_arms = views.iter().map(|v| {
        let n = &v.name;
        let list: Vec<&str> = attrs_of(v)
            .iter()
            .filter(|a| d.object.is_required(&a.name))
            .map(|a| a.name.as_str())
            .collect();
        quote!(#n => Some(&[#(#list),*]),)
    });
    let checks: Vec<TokenStream> = d
        .object
        .attributes
        .iter()
        .filter_map(|a| {
            let n = &a.name;
            attr_checks(&d.object, a).map(|c| quote!(if attributes.contains(&#n) { #c }))
        })
        .collect();
    let unknown = quote!(nagare::codegen::validation::unknown_view(view, Self::VIEWS));
    let validate_body = if checks.is_empty() {
        quote! {
            match Self::view_attributes(view) {
                Some(_) => Ok(()),
                None => Err(#unknown),
            }
        }
    } else {
        quote! {
            let attributes = Self::view_attributes(view).ok_or_else(|| #unknown)?;
            let mut errs = nagare::ValidationErrors::new();
            #(#checks)*
            errs.finish()
        }
    };
    let encode_arms = views.iter().map(|v| {
        let vname = &v.name;
        let attrs = attrs_of(v);
        let count = attrs.len();
        let fields = attrs.into_iter().map(|a| {
            let id = field_ident(&a.name);
            let wire = &a.name;
            if is_plain(&d.object, a) {
                quote!(s.serialize_field(#wire, &self.#id)?;)
            } else {
                quote! {
                    if let Some(v) = &self.#id {
                        s.serialize_field(#wire, v)?;
                    }
                }
            }
        });
        let tname = &d.name;
        quote! {
            #vname => {
                let mut s = ser.serialize_struct(#tname, #count)?;
                #(#fields)*
                s.end()
            }
        }
    });
    let default_view = views[0].name.as_str();
    let doc_views = format!(" Views of the result type, `{default_view}` first.");
    let validate = quote! {
        impl #name {
            #[doc = #doc_views]
            pub const VIEWS: &'static [&'static str] = &[#(#view_names),*];

            /// The attributes `view` renders; `None` for a view the type does not have.
            pub fn view_attributes(view: &str) -> Option<&'static [&'static str]> {
                match view {
                    #(#attr_arms)*
                    _ => None,
                }
            }

            /// The required attributes `view` renders (they must be present in a
            /// message received with that view); `None` for a view the type does
            /// not have.
            pub fn view_required(view: &str) -> Option<&'static [&'static str]> {
                match view {
                    #(#required_arms)*
                    _ => None,
                }
            }

            /// Checks the validations of the attributes `view` renders; a view
            /// the type does not have is an error.
            pub fn validate_view(&self, view: &str) -> Result<(), nagare::ValidationError> {
                #validate_body
            }

            /// Serialises only the attributes of `view`.
            pub fn serialize_view<S: nagare::codegen::serde::Serializer>(&self, view: &str, ser: S) -> Result<S::Ok, S::Error> {
                use nagare::codegen::serde::ser::SerializeStruct;
                match view {
                    #(#encode_arms)*
                    _ => Err(<S::Error as nagare::codegen::serde::ser::Error>::custom(format!("unknown view {view:?}"))),
                }
            }
        }

        impl nagare::Validate for #name {
            fn validate(&self) -> Result<(), nagare::ValidationError> {
                self.validate_view(#default_view)
            }
        }
    };
    let message = quote! {
        impl nagare::Message for #name {
            fn encode(&self, view: Option<&str>, out: &mut Vec<u8>) -> Result<(), nagare::codegen::serde_json::Error> {
                let mut ser = nagare::codegen::serde_json::Serializer::new(out);
                self.serialize_view(view.unwrap_or(#default_view), &mut ser)
            }

            fn decode(bytes: &[u8], view: Option<&str>) -> Result<Self, nagare::DecodeError> {
                let view = view.unwrap_or(#default_view);
                let required = Self::view_required(view).ok_or_else(|| #unknown)?;
                nagare::codegen::validation::decode_viewed(bytes, required, |v: &Self| v.validate_view(view))
            }
        }
    };
    (validate, message)
}

/// Statements checking one attribute into `errs`; `None` when it has no
/// validations.
fn attr_checks(obj: &Object, attr: &Attribute) -> Option<TokenStream> {
    let checks = value_checks(&attr.name, &attr.ty, attr);
    if checks.is_empty() {
        return None;
    }
    let id = field_ident(&attr.name);
    Some(if is_plain(obj, attr) {
        quote! {
            {
                let v = &self.#id;
                #(#checks)*
            }
        }
    } else {
        quote! {
            if let Some(v) = &self.#id {
                #(#checks)*
            }
        }
    })
}

/// Checks on `v: &T` for one attribute's validations.
fn value_checks(path: &str, ty: &Type, attr: &Attribute) -> Vec<TokenStream> {
    let v = &attr.validation;
    let mut out = Vec::new();
    let prim = ty.primitive();
    if let Some(f) = v.format {
        let variant = format_variant(f);
        out.push(quote!(errs.check(nagare::codegen::validation::format(#path, v, nagare::codegen::validation::Format::#variant));));
    }
    if let Some(p) = &v.pattern {
        out.push(quote! {
            static PATTERN: ::std::sync::LazyLock<nagare::codegen::regex::Regex> = ::std::sync::LazyLock::new(|| {
                nagare::codegen::regex::Regex::new(#p).expect("the pattern was checked when the design was validated")
            });
            errs.check(nagare::codegen::validation::pattern(#path, v, &PATTERN));
        });
    }
    // An enum the type already holds to its values needs no check.
    let typed = enum_type("", attr).is_some();
    if let (false, false, Some(p)) = (v.enum_values.is_empty(), typed, prim) {
        let vals = v.enum_values.iter().map(|x| match (p, x) {
            (Primitive::String, serde_json::Value::String(s)) => quote!(#s),
            _ => literal(p, x),
        });
        let value = if p == Primitive::String {
            quote!(&v.as_str())
        } else {
            quote!(v)
        };
        out.push(
            quote!(errs.check(nagare::codegen::validation::enum_(#path, #value, &[#(#vals),*]));),
        );
    }
    // Strings are measured in characters, by functions that count only when
    // the byte length cannot decide; collections by their length.
    let string = prim == Some(Primitive::String);
    if let Some(n) = v.min_length {
        let n = Literal::usize_unsuffixed(n);
        out.push(if string {
            quote!(errs.check(nagare::codegen::validation::min_chars(#path, v, #n));)
        } else {
            quote!(errs.check(nagare::codegen::validation::min_length(#path, v, v.len(), #n));)
        });
    }
    if let Some(n) = v.max_length {
        let n = Literal::usize_unsuffixed(n);
        out.push(if string {
            quote!(errs.check(nagare::codegen::validation::max_chars(#path, v, #n));)
        } else {
            quote!(errs.check(nagare::codegen::validation::max_length(#path, v, v.len(), #n));)
        });
    }
    for (check, bound) in [("minimum", v.minimum), ("maximum", v.maximum)] {
        if let (Some(b), Some(p)) = (bound, prim) {
            let f = ident(check);
            let (value, limit) = bound_operands(p, b);
            out.push(quote!(errs.check(nagare::codegen::validation::#f(#path, #value, #limit));));
        }
    }
    if needs_nested_validate(ty) {
        out.push(quote!(errs.check(nagare::Validate::validate(v));));
    }
    out
}

/// The value and the bound of a range check, compared exactly: integers as
/// `i128` (which holds every Rust integer type), floats as `f64`.
fn bound_operands(p: Primitive, b: Bound) -> (TokenStream, TokenStream) {
    match (p.is_integer(), b) {
        (true, Bound::Int(i)) => {
            let limit = Literal::i128_unsuffixed(i);
            (quote!(i128::from(*v)), quote!(#limit))
        }
        // Float bounds on integers are refused by design validation; compare
        // as floats rather than fail if one gets here.
        (true, Bound::Float(f)) => {
            let limit = Literal::f64_unsuffixed(f);
            (quote!(*v as f64), quote!(#limit))
        }
        (false, b) => {
            let limit = Literal::f64_unsuffixed(b.as_f64());
            let value = if p == Primitive::Float64 {
                quote!(*v)
            } else {
                quote!(f64::from(*v))
            };
            (value, quote!(#limit))
        }
    }
}

/// Whether values of `ty` carry validations of their own.
fn needs_nested_validate(ty: &Type) -> bool {
    match ty {
        Type::Primitive(_) | Type::ErrorResult => false,
        Type::Array(e) => needs_nested_validate(e),
        Type::Map(_, v) => needs_nested_validate(v),
        Type::Object(_) | Type::User(_) | Type::Collection(_) => true,
    }
}

fn format_variant(f: Format) -> proc_macro2::Ident {
    ident(match f {
        Format::DateTime => "DateTime",
        Format::Date => "Date",
        Format::Uuid => "Uuid",
        Format::Email => "Email",
        Format::Uri => "Uri",
        Format::Ipv4 => "Ipv4",
        Format::Ipv6 => "Ipv6",
        Format::Hostname => "Hostname",
    })
}
