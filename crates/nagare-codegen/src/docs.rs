//! Doc comments of generated code, from the design's descriptions.

use proc_macro2::TokenStream;
use quote::quote;

/// `///` lines for a description: one `#[doc]` attribute per line, which is
/// what prettyplease prints as `///` (a multi-line attribute would print as
/// `/** */`).
pub(crate) fn doc(text: &str) -> TokenStream {
    let lines = text.lines().map(|l| format!(" {l}"));
    quote!(#(#[doc = #lines])*)
}

/// `///` lines for an optional description, or `fallback` when it is absent.
pub(crate) fn doc_or(text: Option<&str>, fallback: &str) -> TokenStream {
    doc(text.unwrap_or(fallback))
}
