//! Design enums as Rust enums: an attribute whose design lists its values
//! (`enum_(["buy", "sell"])`) on a string or integer type gets a type of its
//! own, one variant per value, instead of a `String` a user must check.
//!
//! The wire does not change: a variant is written as the design's value, and a
//! value the design does not list is refused when it is read, with Goa's
//! `invalid_enum_value` error, as the validation of a `String` did. The enum is
//! named after its owner and attribute (`Event` + `action` = `EventAction`);
//! a value that is not a Rust identifier gets a variant name made of its
//! letters and digits, `V<n>` when none is left or two would clash.

use std::collections::HashSet;

use nagare_design::{Attribute, Primitive};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

use crate::docs::{doc, doc_or};
use crate::names::Scope;
use crate::names::{pascal, type_ident};

/// The Rust enum of one attribute.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EnumType {
    /// Its type name.
    pub(crate) name: String,
    /// The attribute's name, as errors say it.
    pub(crate) attribute: String,
    /// String or an integer type.
    pub(crate) primitive: Primitive,
    /// The design's values, in order.
    pub(crate) values: Vec<serde_json::Value>,
    /// The variant of each value, in the same order.
    pub(crate) variants: Vec<String>,
    /// The variant `Default` gives: the design's default, else the first.
    pub(crate) default: usize,
    pub(crate) description: Option<String>,
}

/// The enum an attribute of type `owner` becomes, if its design lists its
/// values on a string or integer type (floats, booleans and bytes keep their
/// type and a validation).
pub(crate) fn enum_type(owner: &str, attr: &Attribute) -> Option<EnumType> {
    let primitive = attr.ty.primitive()?;
    let values = &attr.validation.enum_values;
    let usable = match primitive {
        Primitive::String => values.iter().all(serde_json::Value::is_string),
        p if p.is_integer() => values.iter().all(|v| v.as_i64().is_some()),
        _ => false,
    };
    if values.is_empty() || !usable {
        return None;
    }
    let variants = variant_names(values);
    let default = attr
        .default
        .as_ref()
        .and_then(|d| values.iter().position(|v| v == d))
        .unwrap_or(0);
    Some(EnumType {
        name: format!("{owner}{}", pascal(&attr.name)),
        attribute: attr.name.clone(),
        primitive,
        values: values.clone(),
        variants,
        default,
        description: attr.description.clone(),
    })
}

/// A variant name for each value: PascalCase of its letters and digits, `V`
/// before a leading digit, `Minus` for a negative number, `V<n>` (its
/// position) when nothing is left or the name is taken.
fn variant_names(values: &[serde_json::Value]) -> Vec<String> {
    let mut taken = HashSet::new();
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                n => n.to_string(),
            };
            let mut name: String = pascal(
                &text
                    .chars()
                    .map(|c| if c.is_alphanumeric() { c } else { ' ' })
                    .collect::<String>(),
            )
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
            if text.starts_with('-') && v.is_number() {
                name = format!("Minus{name}");
            }
            if name.starts_with(|c: char| c.is_ascii_digit()) {
                name = format!("V{name}");
            }
            if name.is_empty() || name == "Self" || !taken.insert(name.clone()) {
                name = format!("V{i}");
                taken.insert(name.clone());
            }
            name
        })
        .collect()
}

impl EnumType {
    /// The type, named from `scope`.
    pub(crate) fn path(&self, scope: Scope) -> TokenStream {
        let id = type_ident(&self.name);
        match scope {
            Scope::Service => quote!(#id),
            Scope::Child => quote!(super::#id),
        }
    }

    /// The variant for design value `v`, named from `scope`; `None` when the
    /// design does not list it.
    pub(crate) fn value(&self, v: &serde_json::Value, scope: Scope) -> Option<TokenStream> {
        let i = self.values.iter().position(|x| x == v)?;
        let ty = self.path(scope);
        let variant = Ident::new(&self.variants[i], Span::call_site());
        Some(quote!(#ty::#variant))
    }

    /// The values as the wire has them, for the CLI's list of possible values.
    pub(crate) fn wire_values(&self) -> Vec<String> {
        self.values
            .iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                n => n.to_string(),
            })
            .collect()
    }

    /// The enum, with its conversions and its serde form.
    pub(crate) fn render(&self) -> TokenStream {
        let name = type_ident(&self.name);
        let attribute = &self.attribute;
        let tdoc = doc_or(
            self.description.as_deref(),
            &format!("The `{attribute}` attribute's values."),
        );
        let tdoc_tail = doc(&format!(
            "\nOne of the design's values for `{attribute}`: written on the wire as\nthe value, and any other value is refused when a message is read."
        ));
        let variants: Vec<Ident> = self
            .variants
            .iter()
            .map(|v| Ident::new(v, Span::call_site()))
            .collect();
        let count = Literal::usize_unsuffixed(variants.len());
        let declared = variants
            .iter()
            .zip(&self.values)
            .enumerate()
            .map(|(i, (v, value))| {
                let vdoc = doc(&format!("`{value}`"));
                let default = (i == self.default).then(|| quote!(#[default]));
                quote! {
                    #vdoc
                    #default
                    #v,
                }
            });
        let (repr, as_fn, as_doc, conversions) = match self.primitive {
            Primitive::String => {
                let texts: Vec<&str> = self.values.iter().filter_map(|v| v.as_str()).collect();
                (
                    quote!(&'static str),
                    quote!(as_str),
                    "The value on the wire.",
                    quote! {
                        impl ::std::str::FromStr for #name {
                            type Err = nagare::ValidationError;

                            fn from_str(s: &str) -> Result<Self, Self::Err> {
                                match s {
                                    #(#texts => Ok(Self::#variants),)*
                                    _ => Err(nagare::codegen::validation::not_one_of(#attribute, &s, &[#(#texts),*])),
                                }
                            }
                        }

                        impl nagare::codegen::serde::Serialize for #name {
                            fn serialize<S: nagare::codegen::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                                s.serialize_str(self.as_str())
                            }
                        }

                        impl<'de> nagare::codegen::serde::Deserialize<'de> for #name {
                            fn deserialize<D: nagare::codegen::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                                nagare::codegen::validation::deserialize_str_enum(d)
                            }
                        }
                    },
                )
            }
            _ => {
                let numbers: Vec<Literal> = self
                    .values
                    .iter()
                    .filter_map(serde_json::Value::as_i64)
                    .map(Literal::i64_unsuffixed)
                    .collect();
                (
                    quote!(i64),
                    quote!(value),
                    "The value on the wire.",
                    quote! {
                        impl ::std::str::FromStr for #name {
                            type Err = nagare::ValidationError;

                            fn from_str(s: &str) -> Result<Self, Self::Err> {
                                match s.parse::<i64>() {
                                    Ok(n) => Self::try_from(n),
                                    Err(_) => Err(nagare::codegen::validation::not_one_of(#attribute, &s, &[#(#numbers),*])),
                                }
                            }
                        }

                        impl TryFrom<i64> for #name {
                            type Error = nagare::ValidationError;

                            fn try_from(n: i64) -> Result<Self, Self::Error> {
                                match n {
                                    #(#numbers => Ok(Self::#variants),)*
                                    _ => Err(nagare::codegen::validation::not_one_of(#attribute, &n, &[#(#numbers),*])),
                                }
                            }
                        }

                        impl nagare::codegen::serde::Serialize for #name {
                            fn serialize<S: nagare::codegen::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                                s.serialize_i64(self.value())
                            }
                        }

                        impl<'de> nagare::codegen::serde::Deserialize<'de> for #name {
                            fn deserialize<D: nagare::codegen::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                                nagare::codegen::validation::deserialize_int_enum(d)
                            }
                        }
                    },
                )
            }
        };
        let wire: Vec<TokenStream> = self
            .values
            .iter()
            .map(|v| match v {
                serde_json::Value::String(s) => quote!(#s),
                n => {
                    let l = Literal::i64_unsuffixed(n.as_i64().unwrap_or_default());
                    quote!(#l)
                }
            })
            .collect();
        let as_doc = doc(as_doc);
        let display = match self.primitive {
            Primitive::String => quote!(f.write_str(self.as_str())),
            _ => quote!(write!(f, "{}", self.value())),
        };
        quote! {
            #tdoc
            #tdoc_tail
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            pub enum #name {
                #(#declared)*
            }

            impl #name {
                /// Every value, in the design's order.
                pub const ALL: [Self; #count] = [#(Self::#variants),*];

                #as_doc
                pub const fn #as_fn(self) -> #repr {
                    match self {
                        #(Self::#variants => #wire,)*
                    }
                }
            }

            impl ::std::fmt::Display for #name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    #display
                }
            }

            #conversions
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_that_are_not_identifiers_get_names_that_are() {
        let names = variant_names(&[
            json!("buy"),
            json!("stream:read"),
            json!("2fa"),
            json!("with space"),
            json!("Buy"),
            json!("!!"),
            json!("self"),
        ]);
        assert_eq!(
            names,
            ["Buy", "StreamRead", "V2fa", "WithSpace", "V4", "V5", "V6"]
        );
        assert_eq!(
            variant_names(&[json!(1), json!(-1), json!(10)]),
            ["V1", "Minus1", "V10"]
        );
    }
}
