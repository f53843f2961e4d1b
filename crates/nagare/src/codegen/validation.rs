//! Checks behind generated `validate()` methods, with Goa's error names and
//! message formats so that a Goa user reads familiar errors.

use std::fmt::{Debug, Display};
use std::net::{Ipv4Addr, Ipv6Addr};

use regex::Regex;

use crate::error::ValidationError;
pub use crate::message::decode_viewed;

/// String formats a design can require.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// RFC 3339 date-time.
    DateTime,
    /// RFC 3339 full-date.
    Date,
    /// A UUID.
    Uuid,
    /// An e-mail address.
    Email,
    /// An absolute URI.
    Uri,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// An RFC 1123 host name.
    Hostname,
}

impl Format {
    /// Goa's name of the format.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DateTime => "date-time",
            Format::Date => "date",
            Format::Uuid => "uuid",
            Format::Email => "email",
            Format::Uri => "uri",
            Format::Ipv4 => "ipv4",
            Format::Ipv6 => "ipv6",
            Format::Hostname => "hostname",
        }
    }

    /// Why `value` does not have the format, if it does not.
    fn check(self, value: &str) -> Result<(), String> {
        match self {
            Format::DateTime => chrono::DateTime::parse_from_rfc3339(value)
                .map(drop)
                .map_err(|e| format!("not an RFC 3339 date-time: {e}")),
            Format::Date => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map(drop)
                .map_err(|e| format!("not an RFC 3339 full-date: {e}")),
            Format::Uuid => uuid::Uuid::parse_str(value)
                .map(drop)
                .map_err(|e| format!("not a UUID: {e}")),
            Format::Email => check_email(value),
            Format::Uri => url::Url::parse(value)
                .map(drop)
                .map_err(|e| format!("not an absolute URI: {e}")),
            Format::Ipv4 => value
                .parse::<Ipv4Addr>()
                .map(drop)
                .map_err(|_| "not an IPv4 address".to_owned()),
            Format::Ipv6 => value
                .parse::<Ipv6Addr>()
                .map(drop)
                .map_err(|_| "not an IPv6 address".to_owned()),
            Format::Hostname => check_hostname(value),
        }
    }
}

fn check_email(value: &str) -> Result<(), String> {
    let (local, domain) = value
        .rsplit_once('@')
        .ok_or_else(|| "missing '@'".to_owned())?;
    if local.is_empty() || local.contains(char::is_whitespace) {
        return Err("invalid local part".to_owned());
    }
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err("domain must contain a dot".to_owned());
    }
    check_hostname(domain)
}

/// RFC 1123 host names: dot-separated labels of letters, digits and hyphens.
fn check_hostname(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 253 {
        return Err("length must be 1 to 253".to_owned());
    }
    for label in value.trim_end_matches('.').split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !ok {
            return Err(format!("invalid label {label:?}"));
        }
    }
    Ok(())
}

/// `invalid_format`.
pub fn format(path: &str, value: &str, format: Format) -> Result<(), ValidationError> {
    format.check(value).map_err(|why| ValidationError {
        name: "invalid_format",
        message: format!(
            "{path} must be formatted as a {} but got value {value:?}, {why}",
            format.as_str()
        ),
    })
}

/// `invalid_pattern`.
pub fn pattern(path: &str, value: &str, re: &Regex) -> Result<(), ValidationError> {
    if re.is_match(value) {
        Ok(())
    } else {
        Err(ValidationError {
            name: "invalid_pattern",
            message: format!(
                "{path} must match the regexp {:?} but got value {value:?}",
                re.as_str()
            ),
        })
    }
}

/// `invalid_enum_value`.
pub fn enum_<T: PartialEq + Debug>(
    path: &str,
    value: &T,
    allowed: &[T],
) -> Result<(), ValidationError> {
    if allowed.contains(value) {
        return Ok(());
    }
    Err(not_one_of(path, value, allowed))
}

/// `invalid_enum_value` for a value the design does not list, as [`enum_`]
/// words it: what a generated enum's parsing returns.
pub fn not_one_of<V: Debug + ?Sized, A: Debug>(
    path: &str,
    value: &V,
    allowed: &[A],
) -> ValidationError {
    let list = allowed
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    ValidationError {
        name: "invalid_enum_value",
        message: format!("value of {path} must be one of {list} but got value {value:?}"),
    }
}

/// Deserializes a generated string enum from its wire value; a value the
/// design does not list is refused with Goa's `invalid_enum_value`.
pub fn deserialize_str_enum<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr<Err = ValidationError>,
{
    let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    text.parse().map_err(ValidationError::into_serde)
}

/// Deserializes a generated integer enum; see [`deserialize_str_enum`].
pub fn deserialize_int_enum<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64, Error = ValidationError>,
{
    let n = <i64 as serde::Deserialize>::deserialize(d)?;
    T::try_from(n).map_err(ValidationError::into_serde)
}

/// `invalid_length` for a minimum; `len` is characters for strings, elements
/// for collections.
pub fn min_length<T: Debug + ?Sized>(
    path: &str,
    value: &T,
    len: usize,
    min: usize,
) -> Result<(), ValidationError> {
    if len >= min {
        return Ok(());
    }
    Err(ValidationError {
        name: "invalid_length",
        message: format!(
            "length of {path} must be greater or equal than {min} but got value {value:?} (len={len})"
        ),
    })
}

/// `invalid_length` for a maximum.
pub fn max_length<T: Debug + ?Sized>(
    path: &str,
    value: &T,
    len: usize,
    max: usize,
) -> Result<(), ValidationError> {
    if len <= max {
        return Ok(());
    }
    Err(ValidationError {
        name: "invalid_length",
        message: format!(
            "length of {path} must be lesser or equal than {max} but got value {value:?} (len={len})"
        ),
    })
}

/// `invalid_length` for a string's minimum, in characters (Unicode scalar
/// values, what Go counts as runes). A character takes one to four bytes, so
/// the byte length decides most cases without walking the string: every
/// message of a long text would otherwise be counted character by character.
pub fn min_chars(path: &str, value: &str, min: usize) -> Result<(), ValidationError> {
    if value.len() >= min.saturating_mul(4) {
        return Ok(());
    }
    min_length(path, value, value.chars().count(), min)
}

/// `invalid_length` for a string's maximum, in characters; counted only when
/// the string has more bytes than the maximum allows characters.
pub fn max_chars(path: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.len() <= max {
        return Ok(());
    }
    max_length(path, value, value.chars().count(), max)
}

/// `invalid_range` for a minimum. Generated code passes integers as `i128` and
/// floats as `f64`, so integer bounds are exact whatever their size.
pub fn minimum<T: PartialOrd + Display>(
    path: &str,
    value: T,
    min: T,
) -> Result<(), ValidationError> {
    if value >= min {
        return Ok(());
    }
    Err(ValidationError {
        name: "invalid_range",
        message: format!("{path} must be greater or equal than {min} but got value {value}"),
    })
}

/// `invalid_range` for a maximum, exact like [`minimum`].
pub fn maximum<T: PartialOrd + Display>(
    path: &str,
    value: T,
    max: T,
) -> Result<(), ValidationError> {
    if value <= max {
        return Ok(());
    }
    Err(ValidationError {
        name: "invalid_range",
        message: format!("{path} must be lesser or equal than {max} but got value {value}"),
    })
}

/// `invalid_view`: a view the result type does not have (named by a server's
/// `Goa-View`, or by code), which must never validate as "no attributes".
pub fn unknown_view(view: &str, views: &[&str]) -> ValidationError {
    let known = views
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    ValidationError {
        name: "invalid_view",
        message: format!("unknown view {view:?}: the views of this result are {known}"),
    }
}

/// `missing_field` for an attribute absent from a message.
pub fn missing(path: &str, attribute: &str) -> ValidationError {
    ValidationError {
        name: "missing_field",
        message: format!("{attribute:?} is missing from {path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_lengths_are_characters_whatever_the_bytes_say() {
        // Four characters: 1, 2, 3 and 4 bytes (10 bytes).
        let s = "aé€😀";
        assert!(min_chars("x", s, 4).is_ok());
        assert!(max_chars("x", s, 4).is_ok());
        let short = min_chars("x", s, 5).err();
        assert!(
            short
                .as_ref()
                .is_some_and(|e| e.name == "invalid_length" && e.message.ends_with("(len=4)")),
            "{short:?}"
        );
        let long = max_chars("x", s, 3).err();
        assert!(
            long.as_ref()
                .is_some_and(|e| e.name == "invalid_length" && e.message.ends_with("(len=4)")),
            "{long:?}"
        );
        // Decided by the byte length alone, at both edges.
        assert!(min_chars("x", "abcd", 1).is_ok());
        assert!(min_chars("x", "", 1).is_err());
        assert!(max_chars("x", "abc", 3).is_ok());
        assert!(min_chars("x", "", 0).is_ok() && max_chars("x", "", 0).is_ok());
        // Four-byte characters: as many bytes as the bound times four.
        assert!(min_chars("x", "😀😀", 2).is_ok());
        assert!(min_chars("x", "😀😀", 3).is_err());
        assert!(max_chars("x", "😀😀", 1).is_err());
    }

    #[test]
    fn formats_accept_and_reject() {
        let cases = [
            (Format::DateTime, "2024-01-02T03:04:05Z", "yesterday"),
            (Format::Date, "2024-01-02", "2024-13-02"),
            (
                Format::Uuid,
                "67e55044-10b1-426f-9247-bb680e5fe0c8",
                "67e55044",
            ),
            (Format::Email, "a@example.com", "a@b"),
            (Format::Uri, "https://example.com/x", "not a uri"),
            (Format::Ipv4, "127.0.0.1", "256.0.0.1"),
            (Format::Ipv6, "::1", "1::2::3"),
            (Format::Hostname, "api.example.com", "-bad-.com"),
        ];
        for (f, good, bad) in cases {
            assert!(format("x", good, f).is_ok(), "{f:?} rejected {good}");
            let e = format("x", bad, f).err();
            assert!(
                e.as_ref().is_some_and(|e| e.name == "invalid_format"
                    && e.message.starts_with(&format!(
                        "x must be formatted as a {} but got value {bad:?}",
                        f.as_str()
                    ))),
                "{f:?} accepted {bad}: {e:?}"
            );
        }
    }

    #[test]
    fn goa_wording() {
        assert_eq!(
            enum_("action", &"removed", &["added"])
                .err()
                .map(|e| e.message),
            Some(r#"value of action must be one of "added" but got value "removed""#.to_owned())
        );
        assert_eq!(
            min_length("message", "", 0, 1).err().map(|e| e.message),
            Some(
                r#"length of message must be greater or equal than 1 but got value "" (len=0)"#
                    .to_owned()
            )
        );
        assert_eq!(
            maximum("value", 11.5, 10.0).err().map(|e| e.message),
            Some("value must be lesser or equal than 10 but got value 11.5".to_owned())
        );
        let re = Regex::new("^a+$").unwrap_or_else(|_| unreachable!());
        assert_eq!(
            pattern("name", "b", &re).err().map(|e| e.message),
            Some(r#"name must match the regexp "^a+$" but got value "b""#.to_owned())
        );
    }
}
