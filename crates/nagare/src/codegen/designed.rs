//! A service's error type, as generated from its design, and everything the
//! runtime does with it.
//!
//! Each generated service has an `Error` enum: one variant per designed error,
//! plus `Stream`, `Internal` and `Client`. The generated code only says which
//! variant is which ([`ServiceError`]); answering a designed error over HTTP,
//! closing a stream with it, printing it, and getting it back on the client from
//! a response or a close frame are written once, here.
//!
//! On the wire a designed error is its name and its value: before the upgrade the
//! status the method maps it to, a `Goa-Error: <name>` header and the value's
//! JSON; after it, close 4000 with the reason `<name>: <message>`, where the
//! message is the string itself for string errors, the `message` of Goa's error
//! object, or the value's JSON.

use std::fmt;

#[cfg(feature = "server")]
use axum::response::Response;
use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::close::CloseCode;
use crate::error::{designed_close, ClientError, GoaError, StreamError, CUT};
#[cfg(feature = "server")]
use crate::server::StreamFailure;
use crate::ws::CloseFrame;

/// An error inside a service, kept whole for the server's log.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The value of a designed error: it travels as JSON, and as a message in a
/// close reason. Implemented for `String` and [`GoaError`]; generated code
/// implements it (with the JSON defaults) for the design's error types.
pub trait DesignedValue: Serialize + DeserializeOwned + Sized {
    /// The message a peer reads: the value's JSON unless the type says otherwise.
    fn message(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The value back from a message, for an error called `name`.
    fn from_message(name: &str, message: &str) -> Option<Self> {
        let _ = name;
        serde_json::from_str(message).ok()
    }
}

impl DesignedValue for String {
    fn message(&self) -> String {
        self.clone()
    }

    fn from_message(_name: &str, message: &str) -> Option<Self> {
        Some(message.to_owned())
    }
}

impl DesignedValue for GoaError {
    fn message(&self) -> String {
        self.message.clone()
    }

    fn from_message(name: &str, message: &str) -> Option<Self> {
        Some(GoaError::new(name, message))
    }
}

/// A designed error's value, whatever its type.
pub trait AnyDesigned: fmt::Debug + Send + Sync {
    /// The JSON of the value.
    fn json(&self) -> Vec<u8>;
    /// The message a peer reads.
    fn message(&self) -> String;
}

impl<T: DesignedValue + fmt::Debug + Send + Sync> AnyDesigned for T {
    fn json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn message(&self) -> String {
        DesignedValue::message(self)
    }
}

/// What one error of a service is.
#[derive(Debug)]
pub enum Shape<'a> {
    /// A designed error: its name in the design and its value.
    Designed {
        /// The name in the design.
        name: &'static str,
        /// The value.
        value: &'a dyn AnyDesigned,
    },
    /// A stream operation failed.
    Stream(&'a StreamError),
    /// A failure inside the service.
    Internal(&'a (dyn std::error::Error + Send + Sync + 'static)),
    /// A client call failed for a reason the design does not name.
    Client(&'a ClientError),
}

/// A designed error's value as it arrived: the JSON of an HTTP response, or the
/// message of a close reason.
#[derive(Clone, Copy, Debug)]
pub struct Encoded<'a> {
    name: &'a str,
    form: Form<'a>,
}

#[derive(Clone, Copy, Debug)]
enum Form<'a> {
    Json(&'a [u8]),
    Message(&'a str),
}

impl Encoded<'_> {
    /// The value, if it is one of `T`.
    pub fn decode<T: DesignedValue>(&self) -> Option<T> {
        match self.form {
            Form::Json(bytes) => serde_json::from_slice(bytes).ok(),
            Form::Message(message) => T::from_message(self.name, message),
        }
    }
}

/// What a generated `Error` enum says about itself; the runtime does the rest.
pub trait ServiceError: Sized + std::error::Error + Send + 'static {
    /// The names of the service's designed errors.
    const DESIGNED: &'static [&'static str];

    /// Which kind of error this is, with what it carries.
    fn shape(&self) -> Shape<'_>;
    /// The designed error called `name`, if the service has one by that name
    /// and `value` is one of its type.
    fn designed(name: &str, value: Encoded<'_>) -> Option<Self>;
    /// A stream failure that is not a designed error.
    fn stream(error: StreamError) -> Self;
    /// A client failure that is not a designed error.
    fn client(error: ClientError) -> Self;
}

#[cfg(feature = "server")]
impl<E: ServiceError> StreamFailure for E {
    fn close_frame(&self) -> CloseFrame {
        match self.shape() {
            Shape::Designed { name, value } => designed_close(name, &value.message()),
            Shape::Stream(e) => e.close_frame(),
            Shape::Internal(_) | Shape::Client(_) => {
                CloseFrame::new(CloseCode::INTERNAL, "internal error")
            }
        }
    }

    fn designed_value(&self) -> Option<(&str, Vec<u8>)> {
        match self.shape() {
            Shape::Designed { name, value } => Some((name, value.json())),
            Shape::Stream(e) => e.designed_value(),
            Shape::Internal(_) | Shape::Client(_) => None,
        }
    }
}

/// The designed error's name, if `error` is one.
pub fn designed_name<E: ServiceError>(error: &E) -> Option<&'static str> {
    match error.shape() {
        Shape::Designed { name, .. } => Some(name),
        _ => None,
    }
}

/// `Display` of a service error: `<name>: <message>` for a designed error, the
/// failure's own text otherwise.
pub fn fmt_error<E: ServiceError>(error: &E, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match error.shape() {
        Shape::Designed { name, value } => write!(f, "{name}: {}", value.message()),
        Shape::Stream(e) => fmt::Display::fmt(e, f),
        Shape::Internal(e) => fmt::Display::fmt(e, f),
        Shape::Client(e) => fmt::Display::fmt(e, f),
    }
}

/// `Error::source` of a service error: what a failure wraps, so the whole chain
/// reaches the log.
pub fn error_source<E: ServiceError>(error: &E) -> Option<&(dyn std::error::Error + 'static)> {
    match error.shape() {
        Shape::Designed { .. } => None,
        Shape::Stream(e) => std::error::Error::source(e),
        Shape::Internal(e) => e.source(),
        Shape::Client(e) => std::error::Error::source(e),
    }
}

/// A stream error, typed when it carries one of the service's designed errors:
/// whole from a `nagare.v1` error frame, or from a close frame (code 4000,
/// reason `<name>: <message>`). A close reason cut so short that the value
/// cannot be read back becomes [`StreamError::Truncated`], with the name: the
/// error's type is never lost silently.
pub fn from_stream<E: ServiceError>(error: StreamError) -> E {
    match &error {
        StreamError::Designed { name, value } => {
            let encoded = Encoded {
                name,
                form: Form::Json(value.as_bytes()),
            };
            E::designed(name, encoded).unwrap_or_else(|| E::stream(error))
        }
        StreamError::Closed {
            code: CloseCode::DESIGNED_ERROR,
            reason,
        } => {
            let Some((name, message)) = reason.split_once(": ") else {
                return E::stream(error);
            };
            let encoded = Encoded {
                name,
                form: Form::Message(message),
            };
            if let Some(typed) = E::designed(name, encoded) {
                return typed;
            }
            if E::DESIGNED.contains(&name) && reason.ends_with(CUT) {
                let cut = StreamError::Truncated {
                    name: name.to_owned(),
                    reason: reason.clone(),
                };
                return E::stream(cut);
            }
            E::stream(error)
        }
        _ => E::stream(error),
    }
}

/// The HTTP response for an error of a method whose designed errors map to
/// `statuses`: the designed status, `Goa-Error` and the value's JSON for a
/// designed error; a 500 fault that reveals nothing (logged with its causes)
/// for anything else.
#[cfg(feature = "server")]
pub fn http_response<E: ServiceError>(error: &E, statuses: &[(&str, u16)]) -> Response {
    match error.shape() {
        Shape::Designed { name, value } => {
            crate::server::response::designed_error(name, value.json(), value.message(), statuses)
        }
        Shape::Stream(e @ StreamError::Broker(b)) if b.is_temporary() => {
            crate::server::response::unavailable(e)
        }
        _ => crate::server::response::internal_error(error),
    }
}

/// A client error, typed when it is an HTTP response carrying one of the
/// method's designed errors (`statuses`).
pub fn from_client<E: ServiceError>(error: ClientError, statuses: &[(&str, u16)]) -> E {
    if let ClientError::Refused {
        status,
        designed,
        body,
        ..
    } = &error
    {
        if let Some(name) = designed_error_name(*status, designed.as_deref(), statuses) {
            let value = Encoded {
                name,
                form: Form::Json(body.as_bytes()),
            };
            if let Some(typed) = E::designed(name, value) {
                return typed;
            }
        }
    }
    E::client(error)
}

/// The designed error an HTTP error response carries: the `Goa-Error` header when
/// the method declares that name, else the only error the method maps to the status.
fn designed_error_name<'a>(
    status: StatusCode,
    header: Option<&str>,
    statuses: &[(&'a str, u16)],
) -> Option<&'a str> {
    if let Some(h) = header {
        if let Some((name, _)) = statuses.iter().find(|(n, _)| *n == h) {
            return Some(name);
        }
    }
    let mut on_status = statuses.iter().filter(|(_, s)| *s == status.as_u16());
    match (on_status.next(), on_status.next()) {
        (Some((name, _)), None) => Some(name),
        _ => None,
    }
}
