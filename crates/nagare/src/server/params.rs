//! Reading a method's payload from the request that carries it: path, query
//! string, headers and cookies, with Goa's error messages. Generated handlers
//! call these before the upgrade, so every failure is an HTTP error.

use std::collections::HashMap;
use std::fmt::Debug;
use std::str::FromStr;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;

use crate::error::ValidationError;

/// The elements of a request that can carry payload attributes.
#[derive(Debug, Default)]
pub struct RequestParams {
    path: HashMap<String, String>,
    query: Vec<(String, String)>,
}

impl RequestParams {
    /// Reads path parameters and the query string of `parts`.
    pub async fn from_parts(parts: &mut Parts) -> Self {
        let path = match RawPathParams::from_request_parts(parts, &()).await {
            Ok(raw) => raw
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            Err(_) => HashMap::new(),
        };
        let query = parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        RequestParams { path, query }
    }

    /// A path parameter.
    pub fn path<'a>(&'a self, name: &str) -> Option<&'a str> {
        self.path.get(name).map(String::as_str)
    }

    /// The first value of a query parameter (`+` and `%XX` decoded).
    pub fn query<'a>(&'a self, key: &str) -> Option<&'a str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated query parameter.
    pub fn query_all<'a>(&'a self, key: &str) -> Vec<&'a str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// The first value of a header, if it is valid text.
pub fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Every value of a header.
pub fn header_all<'a>(parts: &'a Parts, name: &str) -> Vec<&'a str> {
    parts
        .headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// A cookie's value.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
}

/// Goa's `missing_field`: `"token" is missing from header`.
pub fn missing(attribute: &str, context: &str) -> ValidationError {
    ValidationError {
        name: "missing_field",
        message: format!("{attribute:?} is missing from {context}"),
    }
}

/// Parses a scalar from a request element, with Goa's `invalid_field_type`
/// message on failure (`invalid value "abc" for "limit", must be a integer`).
pub fn parse<T: FromStr>(
    value: &str,
    attribute: &str,
    goa_type: &str,
) -> Result<T, ValidationError> {
    value.parse().map_err(|_| ValidationError {
        name: "invalid_field_type",
        message: format!("invalid value {value:?} for {attribute:?}, must be a {goa_type}"),
    })
}

/// Converts one attribute of a JSON body, with Goa's `invalid_field_type` message
/// on a type mismatch.
pub fn from_json<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    attribute: &str,
) -> Result<T, ValidationError> {
    let shown = value.to_string();
    serde_json::from_value(value).map_err(|e| {
        ValidationError::from_serde(&e).unwrap_or_else(|| ValidationError {
            name: "invalid_field_type",
            message: format!("invalid value {shown} for {attribute:?}: {e}"),
        })
    })
}

/// Parses a value into a generated enum: a value the design does not list is
/// Goa's `invalid_enum_value`, not a type error.
pub fn parse_enum<T: FromStr<Err = ValidationError>>(value: &str) -> Result<T, ValidationError> {
    value.parse()
}

/// Parses every value of a repeated element.
pub fn parse_all<T: FromStr + Debug>(
    values: &[&str],
    attribute: &str,
    goa_type: &str,
) -> Result<Vec<T>, ValidationError> {
    values
        .iter()
        .map(|v| parse(v, attribute, goa_type))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = axum::http::Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(())
            .map(|r| r.into_parts().0)
            .unwrap_or_else(|_| unreachable!())
    }

    #[tokio::test]
    async fn query_is_form_decoded() {
        let mut p = parts("/x?view=tiny&msg=a+b%21&tag=1&tag=2", &[]);
        let q = RequestParams::from_parts(&mut p).await;
        assert_eq!(q.query("view"), Some("tiny"));
        assert_eq!(q.query("msg"), Some("a b!"));
        assert_eq!(q.query_all("tag"), ["1", "2"]);
        assert_eq!(q.query("none"), None);
    }

    #[test]
    fn cookies_and_headers_are_found() {
        let p = parts("/", &[("Cookie", "a=1; session=xyz"), ("X-Token", "t")]);
        assert_eq!(cookie(&p, "session").as_deref(), Some("xyz"));
        assert_eq!(header(&p, "x-token"), Some("t"));
    }

    #[test]
    fn goa_messages() {
        assert_eq!(
            missing("token", "header").message,
            "\"token\" is missing from header"
        );
        let e = parse::<i64>("abc", "limit", "integer").err();
        assert_eq!(
            e.map(|e| e.message),
            Some("invalid value \"abc\" for \"limit\", must be a integer".to_owned())
        );
    }
}
