//! The runtime's errors: of streams, of client calls, of received messages, and
//! Goa's error body.
//!
//! Every error says what the caller can do about it ([`StreamError::kind`],
//! [`ClientError::kind`]) and keeps what caused it: the I/O, WebSocket, JSON or
//! HTTP error underneath is its [`source`](std::error::Error::source), so an
//! operator's log shows the whole chain while a peer only ever sees the short
//! message meant for it. Stream errors are cheap to clone (causes are shared), so
//! a handle that failed reports the same error on every later call.

use std::fmt;
use std::sync::Arc;

use http::StatusCode;
use serde::{Deserialize, Serialize};

pub use crate::cause::Cause;
use crate::close::{CloseCode, ErrorKind};
use crate::ws::CloseFrame;

/// Errors of typed stream handles.
///
/// Each says what the caller can do: [`StreamError::InvalidMessage`] leaves the stream
/// usable (the next `recv` reads the next message); every other variant means the
/// stream is over, and later calls on the handle return the same error.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// A received message was not valid JSON, not of the expected type, or failed
    /// the design's validations. The stream stays usable.
    #[error("invalid message: {0}")]
    InvalidMessage(#[from] DecodeError),
    /// The peer closed the connection with an error code (anything but 1000, and
    /// 4010, which is [`StreamError::TooFarBehind`]).
    #[error("connection closed by peer with code {code}: {reason}")]
    Closed {
        /// The close code.
        code: u16,
        /// The close reason, as the peer sent it.
        reason: String,
    },
    /// The connection failed (reset, protocol violation, I/O error, a peer that
    /// stopped answering pings or reading); `cause` is the error underneath, when
    /// there is one.
    #[error("connection lost: {reason}")]
    ConnectionLost {
        /// What went wrong, from the connection's point of view.
        reason: String,
        /// The error underneath.
        #[source]
        cause: Option<Cause>,
    },
    /// The stream was already closed by this side, or the connection ended: nothing
    /// can be sent any more.
    #[error("stream closed")]
    StreamClosed,
    /// A message could not be serialised.
    #[error("cannot encode message")]
    Encode(#[source] Arc<serde_json::Error>),
    /// The handle was used in an order it does not support (a programming
    /// error, named in the message).
    #[error("stream used out of order: {0}")]
    Misuse(&'static str),
    /// A resumable stream cannot continue from where this client stopped: the
    /// server no longer keeps the messages it missed (or the client claims
    /// messages the stream never had). The application must re-sync (fetch the
    /// current state) and subscribe again. Close code 4010 on the wire. (A
    /// stream that *restarted* is not an error: the client is told and goes on.)
    #[error("too far behind to resume: {0}")]
    TooFarBehind(String),
    /// A resumable stream skipped or repeated sequence numbers: the server broke
    /// the resume protocol, and messages may be missing.
    #[error("sequence gap: expected message {expected}, got {got}")]
    Gap {
        /// The number that should have come.
        expected: u64,
        /// The number that came.
        got: u64,
    },
    /// The peer ended the stream with one of its designed errors, whole: on a
    /// `nagare.v1` connection the error comes in a frame of its own before the
    /// close, so it is not limited to a close reason's 123 bytes. The service's
    /// generated `Error` turns it into its typed variant.
    #[error("designed error {name}: {value}")]
    Designed {
        /// The error's name in the design.
        name: String,
        /// Its value, as JSON.
        value: Arc<str>,
    },
    /// The peer ended the stream with a designed error too long for the 123
    /// bytes of a close reason (a peer that does not speak `nagare.v1` gets no
    /// error frame), and what arrived cannot be read back as the error's value.
    /// The name is kept.
    #[error("designed error {name} arrived cut to fit a close reason: {reason}")]
    Truncated {
        /// The error's name in the design.
        name: String,
        /// What arrived of it.
        reason: String,
    },
    /// The broker behind a room failed (Redis unreachable, say): nothing was
    /// published or followed. Close code 1013 (try again later) on the wire.
    #[error(transparent)]
    Broker(#[from] crate::broker::BrokerError),
    /// Reconnecting was cancelled (the retry policy's token).
    #[error("cancelled")]
    Cancelled,
    /// A dropped stream could not be reconnected: the policy gave up, or the
    /// server refused the new connection (its error is the source).
    #[error("reconnecting failed")]
    Reconnect(#[source] Arc<ClientError>),
}

impl StreamError {
    /// A lost connection without an underlying error.
    pub(crate) fn lost(reason: impl Into<String>) -> Self {
        StreamError::ConnectionLost {
            reason: reason.into(),
            cause: None,
        }
    }

    /// A lost connection, caused by `cause`.
    pub(crate) fn lost_by(
        reason: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StreamError::ConnectionLost {
            reason: reason.into(),
            cause: Some(Cause::new(cause)),
        }
    }

    /// What the caller can do about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StreamError::Closed { code, .. } => ErrorKind::of_close_code(*code),
            StreamError::ConnectionLost { .. } => ErrorKind::Temporary,
            StreamError::Reconnect(e) => e.kind(),
            StreamError::Broker(e) if e.is_temporary() => ErrorKind::ResourceExhausted,
            StreamError::Broker(_) => ErrorKind::Fatal,
            StreamError::InvalidMessage(_)
            | StreamError::StreamClosed
            | StreamError::Encode(_)
            | StreamError::Misuse(_)
            | StreamError::TooFarBehind(_)
            | StreamError::Gap { .. }
            | StreamError::Designed { .. }
            | StreamError::Truncated { .. }
            | StreamError::Cancelled => ErrorKind::Fatal,
        }
    }

    /// The error a peer's close frame (other than 1000) reports: the inverse of
    /// [`close_frame`](Self::close_frame) where a code has a variant of its own.
    pub fn from_close(frame: &CloseFrame) -> Self {
        match frame.code {
            CloseCode::TOO_FAR_BEHIND => StreamError::TooFarBehind(
                frame
                    .reason
                    .strip_prefix(TOO_FAR_BEHIND_PREFIX)
                    .unwrap_or(&frame.reason)
                    .to_owned(),
            ),
            code => StreamError::Closed {
                code,
                reason: frame.reason.clone(),
            },
        }
    }

    /// The close frame a server sends when a service method fails with this error.
    pub fn close_frame(&self) -> CloseFrame {
        match self {
            StreamError::InvalidMessage(e) => {
                CloseFrame::new(CloseCode::INVALID_DATA, format!("invalid message: {e}"))
            }
            StreamError::Encode(_) | StreamError::Misuse(_) => {
                CloseFrame::new(CloseCode::INTERNAL, "internal error")
            }
            StreamError::TooFarBehind(why) => CloseFrame::new(
                CloseCode::TOO_FAR_BEHIND,
                format!("{TOO_FAR_BEHIND_PREFIX}{why}"),
            ),
            StreamError::Designed { name, value } => designed_close(name, value),
            StreamError::Broker(e) if e.is_temporary() => {
                CloseFrame::new(CloseCode::TRY_AGAIN_LATER, cut_reason(e.to_string()))
            }
            StreamError::Broker(_) => CloseFrame::new(CloseCode::INTERNAL, "internal error"),
            // The connection is gone or closed: whatever is sent is a formality.
            _ => CloseFrame::new(CloseCode::INTERNAL, "stream failed"),
        }
    }
}

impl From<crate::broker::FollowError> for StreamError {
    fn from(e: crate::broker::FollowError) -> Self {
        match e {
            crate::broker::FollowError::Broker(e) => StreamError::Broker(e),
            e => StreamError::TooFarBehind(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for StreamError {
    /// A message that could not be encoded.
    fn from(e: serde_json::Error) -> Self {
        StreamError::Encode(Arc::new(e))
    }
}

/// How a 4010 close reason starts; the rest says why.
const TOO_FAR_BEHIND_PREFIX: &str = "too far behind: ";

/// What ends a close reason that was cut to fit its 123 bytes.
pub(crate) const CUT: &str = "…";

/// The close frame of a designed error: 4000 and `<name>: <message>`, cut on a
/// character boundary (and marked with [`CUT`]) to the 123 bytes a close
/// reason holds, so the name always arrives.
pub(crate) fn designed_close(name: &str, message: &str) -> CloseFrame {
    CloseFrame::new(
        CloseCode::DESIGNED_ERROR,
        cut_reason(format!("{name}: {message}")),
    )
}

/// `reason`, cut on a character boundary (and marked with [`CUT`]) to the 123
/// bytes a close reason holds.
pub(crate) fn cut_reason(mut reason: String) -> String {
    if reason.len() > crate::ws::MAX_CLOSE_REASON {
        let mut end = crate::ws::MAX_CLOSE_REASON - CUT.len();
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push_str(CUT);
    }
    reason
}

/// Errors of a client call before any message is exchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The base URL or a header value is not valid.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The payload fails the design's validations; nothing was sent.
    #[error("invalid payload: {0}")]
    InvalidPayload(#[source] ValidationError),
    /// The server could not be reached (refused, reset, timed out); `cause` is
    /// the I/O or HTTP error underneath, when there is one.
    #[error("cannot reach the server: {reason}")]
    Unreachable {
        /// Where and what: the address, the timeout.
        reason: String,
        /// The error underneath.
        #[source]
        cause: Option<Cause>,
    },
    /// The server answered with an HTTP error instead of upgrading. `error` is
    /// Goa's error body when the server sent one.
    #[error("server refused the request with HTTP {status}: {}", error.as_ref().map(|e| e.to_string()).unwrap_or_else(|| body.clone()))]
    Refused {
        /// The status of the answer.
        status: StatusCode,
        /// Goa's error body, when the server sent one.
        error: Option<Box<GoaError>>,
        /// The `Goa-Error` header: the designed error's name, if any.
        designed: Option<String>,
        /// The raw body (at most 1 KiB kept).
        body: String,
    },
    /// The WebSocket (or TLS) handshake failed; `cause` is the error
    /// underneath, when there is one.
    #[error("WebSocket handshake failed: {reason}")]
    Handshake {
        /// What was wrong with the server's answer.
        reason: String,
        /// The error underneath.
        #[source]
        cause: Option<Cause>,
    },
    /// The server answered, but its result is not what the design says (not
    /// JSON, wrong shape, or failing validation). Retrying gets the same answer.
    #[error("invalid result")]
    InvalidResult(#[source] DecodeError),
    /// The retry policy's cancellation token was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl ClientError {
    /// A server that could not be reached, without an underlying error.
    pub(crate) fn unreachable(reason: impl Into<String>) -> Self {
        ClientError::Unreachable {
            reason: reason.into(),
            cause: None,
        }
    }

    /// A server that could not be reached, because of `cause`.
    pub(crate) fn unreachable_by(
        reason: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ClientError::Unreachable {
            reason: reason.into(),
            cause: Some(Cause::new(cause)),
        }
    }

    /// What the caller can do about this error: retry (temporary), back off
    /// (resource exhausted) or give up (fatal).
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClientError::Unreachable { .. } | ClientError::Handshake { .. } => ErrorKind::Temporary,
            ClientError::Refused { status, .. } => ErrorKind::of_status(status.as_u16()),
            ClientError::InvalidPayload(_)
            | ClientError::InvalidRequest(_)
            | ClientError::InvalidResult(_)
            | ClientError::Cancelled => ErrorKind::Fatal,
        }
    }
}

/// Why a received message was rejected.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("{0}")]
    Json(Arc<serde_json::Error>),
    /// Well-formed, but a design validation failed.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
}

impl From<serde_json::Error> for DecodeError {
    /// Malformed JSON, or a value a generated enum refused (then Goa's
    /// `invalid_enum_value`, as a validation of the value would say).
    fn from(e: serde_json::Error) -> Self {
        match ValidationError::from_serde(&e) {
            Some(invalid) => DecodeError::Invalid(invalid),
            None => DecodeError::Json(Arc::new(e)),
        }
    }
}

/// A failed design validation, worded as Goa words it (`missing_field`,
/// `invalid_enum_value`, ...). Several failures are merged into one, as Goa's
/// `MergeErrors` does: the first name wins and messages are joined with `"; "`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// Goa's name of the failure (`missing_field`, `invalid_range`...).
    pub name: &'static str,
    /// What failed, in Goa's words.
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ValidationError {}

/// Marks a serde error that carries an `invalid_enum_value`: serde's errors
/// are text, so a generated enum's refusal travels through them as its
/// message behind this mark, and [`ValidationError::from_serde`] turns it
/// back into Goa's error.
const ENUM_MARK: &str = "\u{1f}invalid_enum_value\u{1f}";

impl ValidationError {
    /// This `invalid_enum_value` as a serde error, for a generated enum's
    /// `Deserialize` to refuse a value with.
    pub(crate) fn into_serde<E: serde::de::Error>(self) -> E {
        E::custom(format!("{ENUM_MARK}{}", self.message))
    }

    /// The validation error a serde error carries (a generated enum's
    /// refusal), if it carries one.
    pub(crate) fn from_serde(e: &serde_json::Error) -> Option<ValidationError> {
        let text = e.to_string();
        let (_, message) = text.split_once(ENUM_MARK)?;
        // serde_json adds where in the input the error was.
        let message = match message.rsplit_once(" at line ") {
            Some((m, _)) => m,
            None => message,
        };
        Some(ValidationError {
            name: "invalid_enum_value",
            message: message.to_owned(),
        })
    }

    /// Merges `other` into `self`.
    pub fn merge(&mut self, other: ValidationError) {
        self.message.push_str("; ");
        self.message.push_str(&other.message);
    }
}

/// Collects validation failures; [`ValidationErrors::finish`] merges them.
#[derive(Debug, Default)]
pub struct ValidationErrors(Option<ValidationError>);

impl ValidationErrors {
    /// No failure yet.
    pub fn new() -> Self {
        ValidationErrors(None)
    }

    /// Adds a failure.
    pub fn push(&mut self, e: ValidationError) {
        match &mut self.0 {
            Some(first) => first.merge(e),
            None => self.0 = Some(e),
        }
    }

    /// Adds the failure of a result, if any.
    pub fn check(&mut self, r: Result<(), ValidationError>) {
        if let Err(e) = r {
            self.push(e);
        }
    }

    /// `Ok` when nothing failed.
    pub fn finish(self) -> Result<(), ValidationError> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Goa's error body: exactly six keys, in this order, always present.
///
/// Used for every error answered before the upgrade (validation failures,
/// handshake errors, internal faults), so that Goa clients and humans both read it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoaError {
    /// The error's name (`missing_field`, `bad_request`, `fault`...).
    pub name: String,
    /// A short random id that ties a client's report to the server's log.
    pub id: String,
    /// What went wrong, for a human.
    pub message: String,
    /// Retrying later may succeed.
    pub temporary: bool,
    /// Something took too long.
    pub timeout: bool,
    /// The server is at fault, not the request.
    pub fault: bool,
}

impl GoaError {
    /// An error with a fresh id and no flags set (status 400).
    pub fn new(name: impl Into<String>, message: impl Into<String>) -> Self {
        GoaError {
            name: name.into(),
            id: new_error_id(),
            message: message.into(),
            temporary: false,
            timeout: false,
            fault: false,
        }
    }

    /// A server fault (status 500). The message must not carry internals.
    pub fn fault(message: impl Into<String>) -> Self {
        GoaError {
            fault: true,
            ..GoaError::new("fault", message)
        }
    }

    /// The status Goa derives from the flags (`ErrorResponse.StatusCode`).
    pub fn status(&self) -> StatusCode {
        if self.name == "unsupported_media_type" {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        } else if self.fault {
            StatusCode::INTERNAL_SERVER_ERROR
        } else if self.timeout && self.temporary {
            StatusCode::GATEWAY_TIMEOUT
        } else if self.timeout {
            StatusCode::REQUEST_TIMEOUT
        } else if self.temporary {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::BAD_REQUEST
        }
    }
}

impl From<ValidationError> for GoaError {
    fn from(e: ValidationError) -> Self {
        GoaError::new(e.name, e.message)
    }
}

impl fmt::Display for GoaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for GoaError {}

/// An error and its causes on one line, `outer: inner: innermost`, for logs.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        // An error that already says its cause (`invalid payload: <cause>`)
        // does not get it twice.
        let text = cause.to_string();
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        next = cause.source();
    }
    line
}

/// 6 random bytes in unpadded URL-safe base64: 8 characters, as Goa's ids.
fn new_error_id() -> String {
    use base64::Engine;
    let bytes: [u8; 6] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goa_error_serialises_six_keys_in_order() {
        let mut e = GoaError::new("missing_field", "\"token\" is missing from header");
        e.id = "abcdefgh".into();
        assert_eq!(
            serde_json::to_string(&e).unwrap_or_default(),
            r#"{"name":"missing_field","id":"abcdefgh","message":"\"token\" is missing from header","temporary":false,"timeout":false,"fault":false}"#
        );
        assert_eq!(new_error_id().len(), 8);
    }

    #[test]
    fn status_follows_goa_heuristic() {
        assert_eq!(GoaError::new("x", "").status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            GoaError::fault("x").status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let t = GoaError {
            temporary: true,
            timeout: true,
            ..GoaError::new("x", "")
        };
        assert_eq!(t.status(), StatusCode::GATEWAY_TIMEOUT);
    }

    #[test]
    fn merged_validation_errors_keep_first_name() {
        let mut errs = ValidationErrors::new();
        errs.push(ValidationError {
            name: "missing_field",
            message: "a".into(),
        });
        errs.push(ValidationError {
            name: "invalid_range",
            message: "b".into(),
        });
        let e = errs.finish().err();
        assert_eq!(
            e,
            Some(ValidationError {
                name: "missing_field",
                message: "a; b".into()
            })
        );
    }
}
