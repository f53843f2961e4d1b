//! How stream messages become JSON text frames and back.
//!
//! Every type sent or received on a stream implements [`Message`]. Generated types
//! implement it with their validations and views; primitives, `Vec`, maps and
//! `serde_json::Value` are implemented here. On the wire a message is one JSON value
//! in a text frame, compact, followed by `\n` (what Go's `json.Encoder` writes); the
//! reader accepts text or binary frames and surrounding whitespace.

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::{DecodeError, ValidationError};
use crate::ws::{Data, TextBytes};

/// Checks the design's validations on a value.
pub trait Validate {
    /// `Ok` when every validation passes; otherwise all failures, merged.
    fn validate(&self) -> Result<(), ValidationError>;
}

/// A value that travels as one stream message.
///
/// `view` is the result view in force (`None` for types without views): encoding
/// renders only that view's attributes; decoding checks the attributes the view
/// requires.
pub trait Message: Sized + Send + 'static {
    /// Writes the JSON form of `self` (without the trailing newline).
    fn encode(&self, view: Option<&str>, out: &mut Vec<u8>) -> Result<(), serde_json::Error>;

    /// Parses and validates one message.
    fn decode(bytes: &[u8], view: Option<&str>) -> Result<Self, DecodeError>;

    /// The design's validations, which a client checks before it sends the
    /// message (the server checks them again on receipt): an invalid message
    /// is refused with the stream still usable, rather than sent and answered
    /// with a close 1007 that ends the whole stream. Valid unless the type
    /// says otherwise ([`JsonMessage`] types check [`Validate`]).
    fn validate_outgoing(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// A message whose JSON is its serde form, checked by its [`Validate`]:
/// what generated types without views are, and primitives. Implementing it
/// implements [`Message`].
pub trait JsonMessage: Serialize + DeserializeOwned + Validate + Send + 'static {}

impl<T: JsonMessage> Message for T {
    fn encode(&self, _view: Option<&str>, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        encode_json(self, out)
    }

    fn decode(bytes: &[u8], _view: Option<&str>) -> Result<Self, DecodeError> {
        decode_json(bytes)
    }

    fn validate_outgoing(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

/// Encodes with serde, for types whose JSON form does not depend on a view.
pub fn encode_json<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, value)
}

/// Decodes with serde then validates, for types without views.
pub fn decode_json<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T, DecodeError> {
    let value: T = serde_json::from_slice(bytes)?;
    value.validate()?;
    Ok(value)
}

/// The frame for one message: compact JSON and a newline, as a text frame.
pub(crate) fn to_frame<T: Message>(msg: &T, view: Option<&str>) -> Result<Data, serde_json::Error> {
    to_text(msg, view).map(Data::Text)
}

/// The text of one message's frame: compact JSON and a newline.
pub(crate) fn to_text<T: Message>(
    msg: &T,
    view: Option<&str>,
) -> Result<TextBytes, serde_json::Error> {
    let mut buf = Vec::with_capacity(128);
    msg.encode(view, &mut buf)?;
    buf.push(b'\n');
    utf8_text(buf)
}

/// A text frame of encoded JSON.
pub(crate) fn text_frame(buf: Vec<u8>) -> Result<Data, serde_json::Error> {
    utf8_text(buf).map(Data::Text)
}

fn utf8_text(buf: Vec<u8>) -> Result<TextBytes, serde_json::Error> {
    // serde_json only writes UTF-8, so this cannot fail; the check is cheap.
    let text = String::from_utf8(buf).map_err(|e| {
        <serde_json::Error as serde::ser::Error>::custom(format!(
            "encoder wrote invalid UTF-8: {e}"
        ))
    })?;
    Ok(TextBytes::from(text))
}

/// Whether a message is the JSON `null` that ends a client stream.
pub(crate) fn is_end_of_stream(bytes: &[u8]) -> bool {
    bytes.trim_ascii() == b"null"
}

macro_rules! primitive_message {
    ($($t:ty),*) => {$(
        impl Validate for $t {
            fn validate(&self) -> Result<(), ValidationError> {
                Ok(())
            }
        }
        impl JsonMessage for $t {}
    )*};
}

primitive_message!(
    bool,
    i32,
    i64,
    u32,
    u64,
    f32,
    f64,
    String,
    serde_json::Value,
    Bytes
);

/// Decodes a result rendered with a view: the attributes the view requires must be
/// present (attributes outside the view take their zero value, as in Goa), then
/// the view's validations run.
pub fn decode_viewed<T: DeserializeOwned>(
    bytes: &[u8],
    required: &[&str],
    validate: impl FnOnce(&T) -> Result<(), ValidationError>,
) -> Result<T, DecodeError> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes)?;
    let mut errs = crate::error::ValidationErrors::new();
    for attr in required {
        if !map.contains_key(*attr) {
            errs.push(crate::codegen::validation::missing("body", attr));
        }
    }
    errs.finish()?;
    let value: T = serde_json::from_value(serde_json::Value::Object(map))?;
    validate(&value)?;
    Ok(value)
}

/// The design's `bytes`: standard base64 in JSON, as Go encodes `[]byte`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> serde::Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map(Bytes)
            .map_err(serde::de::Error::custom)
    }
}

impl Bytes {
    /// Number of bytes (what `min_length`/`max_length` count).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Arrays: each element encoded and decoded with the view in force, so a
/// collection of a result type renders every element with the same view.
impl<T: Message> Message for Vec<T> {
    fn encode(&self, view: Option<&str>, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.push(b'[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            item.encode(view, out)?;
        }
        out.push(b']');
        Ok(())
    }

    fn decode(bytes: &[u8], view: Option<&str>) -> Result<Self, DecodeError> {
        let raw: Vec<&RawValue> = serde_json::from_slice(bytes)?;
        raw.into_iter()
            .map(|r| T::decode(r.get().as_bytes(), view))
            .collect()
    }

    fn validate_outgoing(&self) -> Result<(), ValidationError> {
        let mut errs = crate::error::ValidationErrors::new();
        for item in self {
            errs.check(item.validate_outgoing());
        }
        errs.finish()
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate(&self) -> Result<(), ValidationError> {
        let mut errs = crate::error::ValidationErrors::new();
        for item in self {
            errs.check(item.validate());
        }
        errs.finish()
    }
}

impl<V: Serialize + DeserializeOwned + Validate + Send + 'static> JsonMessage
    for HashMap<String, V>
{
}

impl<V: Validate> Validate for HashMap<String, V> {
    fn validate(&self) -> Result<(), ValidationError> {
        let mut errs = crate::error::ValidationErrors::new();
        for v in self.values() {
            errs.check(v.validate());
        }
        errs.finish()
    }
}

impl<V: Validate> Validate for BTreeMap<String, V> {
    fn validate(&self) -> Result<(), ValidationError> {
        let mut errs = crate::error::ValidationErrors::new();
        for v in self.values() {
            errs.check(v.validate());
        }
        errs.finish()
    }
}

impl<T: Validate> Validate for Option<T> {
    fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Some(v) => v.validate(),
            None => Ok(()),
        }
    }
}

/// The unit type has nothing to validate.
impl Validate for () {
    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// The unit type stands for "no messages in this direction".
impl Message for () {
    fn encode(&self, _view: Option<&str>, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.extend_from_slice(b"{}");
        Ok(())
    }
    fn decode(_bytes: &[u8], _view: Option<&str>) -> Result<Self, DecodeError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_is_compact_json_and_newline() {
        let frame = to_frame(&"hi".to_owned(), None).ok();
        assert_eq!(frame.as_ref().map(Data::as_bytes), Some(&b"\"hi\"\n"[..]));
    }

    #[test]
    fn null_with_whitespace_ends_the_stream() {
        assert!(is_end_of_stream(b"null\n"));
        assert!(is_end_of_stream(b"  null "));
        assert!(!is_end_of_stream(b"\"null\""));
        assert!(!is_end_of_stream(b"[]"));
    }

    #[test]
    fn vectors_round_trip() {
        let v = vec![1i64, 2, 3];
        let mut out = Vec::new();
        assert!(v.encode(None, &mut out).is_ok());
        assert_eq!(out, b"[1,2,3]");
        assert_eq!(Vec::<i64>::decode(&out, None).ok(), Some(v));
    }
}
