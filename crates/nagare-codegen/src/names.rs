//! Rust names for design names: `sent_at` stays a field, `chat-room` becomes
//! `ChatRoom` as a type and `chat_room` as a module, keywords get `r#`.

use proc_macro2::{Ident, Span};

/// `added_at`, `addedAt`, `added-at` -> `AddedAt`.
pub(crate) fn pascal(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if c == '_' || c == '-' || c == ' ' || c == '.' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `addedAt`, `added-at` -> `added_at`.
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '-' || c == ' ' || c == '.' {
            out.push('_');
            prev_lower = false;
        } else if c.is_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where",
    "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

/// A snake_case identifier, raw when it is a keyword.
pub(crate) fn field_ident(name: &str) -> Ident {
    let s = snake(name);
    if matches!(s.as_str(), "self" | "super" | "crate" | "Self") {
        return Ident::new(&format!("{s}_"), Span::call_site());
    }
    if KEYWORDS.contains(&s.as_str()) {
        Ident::new_raw(&s, Span::call_site())
    } else {
        Ident::new(&s, Span::call_site())
    }
}

/// A PascalCase type identifier.
pub(crate) fn type_ident(name: &str) -> Ident {
    Ident::new(&pascal(name), Span::call_site())
}

/// An identifier used as is.
pub(crate) fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// `echo`, `get-item` -> `ECHO`, `GET_ITEM`: a constant's name.
pub(crate) fn const_ident(name: &str) -> Ident {
    Ident::new(&snake(name).to_uppercase(), Span::call_site())
}

/// Where generated code names a design type from: the service's module, where
/// the types are declared, or one of its submodules (server, client, command
/// line), which name them by path (`super::Event`) so that no design type can
/// collide with a name of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Service,
    Child,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(pascal("chat_summary"), "ChatSummary");
        assert_eq!(pascal("invalid-scopes"), "InvalidScopes");
        assert_eq!(snake("addedAt"), "added_at");
        assert_eq!(snake("sent_at"), "sent_at");
        assert_eq!(snake("invalid-scopes"), "invalid_scopes");
        assert_eq!(field_ident("type").to_string(), "r#type");
    }
}
