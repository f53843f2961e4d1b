//! The values that cross the WebSocket adapter: data messages, close frames and
//! the errors of an established connection, independent of the crate underneath.

use std::fmt;

use bytes::Bytes;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

/// The text of a text frame: valid UTF-8, cheap to clone.
#[derive(Clone, PartialEq, Eq)]
pub struct TextBytes(Utf8Bytes);

impl TextBytes {
    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Wraps text the WebSocket crate already checked.
    pub(super) fn from_utf8_bytes(t: Utf8Bytes) -> Self {
        TextBytes(t)
    }

    #[cfg(feature = "compression")]
    pub(super) fn into_utf8_bytes(self) -> Utf8Bytes {
        self.0
    }
}

impl fmt::Debug for TextBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<String> for TextBytes {
    fn from(s: String) -> Self {
        TextBytes(Utf8Bytes::from(s))
    }
}

impl From<&'static str> for TextBytes {
    fn from(s: &'static str) -> Self {
        TextBytes(Utf8Bytes::from_static(s))
    }
}

/// One data message, whole (fragments are reassembled by the adapter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    /// A text message: valid UTF-8.
    Text(TextBytes),
    /// A binary message.
    Binary(Bytes),
}

impl Data {
    /// The payload bytes, whatever the opcode.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Data::Text(t) => t.0.as_bytes(),
            Data::Binary(b) => b,
        }
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn into_message(self) -> Message {
        match self {
            Data::Text(t) => Message::Text(t.0),
            Data::Binary(b) => Message::Binary(b),
        }
    }
}

/// A close frame: code and reason (at most 123 bytes of UTF-8 on the wire).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The close code (see [`crate::close`]).
    pub code: u16,
    /// Why, in at most 123 bytes.
    pub reason: String,
}

/// The longest close reason, in bytes: a control frame carries at most 125,
/// two of which are the code (RFC 6455 section 5.5).
pub const MAX_CLOSE_REASON: usize = 123;

impl CloseFrame {
    /// A close frame; the reason is cut at a character boundary to fit the
    /// [`MAX_CLOSE_REASON`] bytes a control frame allows.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        if reason.len() > MAX_CLOSE_REASON {
            let mut end = MAX_CLOSE_REASON;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        CloseFrame { code, reason }
    }

    pub(super) fn to_tungstenite(&self) -> TCloseFrame {
        TCloseFrame {
            code: CloseCode::from(self.code),
            reason: Utf8Bytes::from(self.reason.clone()),
        }
    }
}

/// What the reader yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// A data message.
    Data(Data),
    /// The peer's close frame (already echoed by the adapter); `None` when it
    /// carried no code.
    Close(Option<CloseFrame>),
    /// A ping (already answered) or a pong: proof the peer is alive.
    Control,
}

/// Errors of an established WebSocket.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// The peer broke RFC 6455 (bad opcode, reserved bits, unmasked frame...).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A text frame (or close reason) was not valid UTF-8.
    #[error("invalid UTF-8 in a text frame")]
    InvalidUtf8,
    /// A frame or message exceeded the configured limit.
    #[error("message of {size} bytes exceeds the limit of {max} bytes")]
    TooBig {
        /// The size seen (0 when the backend does not say).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The peer went away without a close frame.
    #[error("connection reset without a closing handshake")]
    Reset,
    /// The connection is already closed.
    #[error("connection closed")]
    Closed,
    /// The outgoing buffer is full: the peer does not read.
    #[error("write buffer full: the peer is not reading")]
    WriteBufferFull,
    /// Socket I/O failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl WsError {
    /// The close code to send for this error, if one should be sent (RFC 6455
    /// section 7.4.1): 1002 protocol error, 1007 invalid data, 1009 too big.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            WsError::Protocol(_) => Some(1002),
            WsError::InvalidUtf8 => Some(1007),
            WsError::TooBig { .. } => Some(1009),
            _ => None,
        }
    }

    pub(super) fn from_tungstenite(e: tungstenite::Error) -> Self {
        use tungstenite::Error as E;
        match e {
            E::ConnectionClosed | E::AlreadyClosed => WsError::Closed,
            E::Io(io) => WsError::Io(io),
            E::Utf8(_) => WsError::InvalidUtf8,
            E::Capacity(CapacityError::MessageTooLong { size, max_size }) => WsError::TooBig {
                size,
                max: max_size,
            },
            E::Capacity(other) => WsError::Protocol(other.to_string()),
            E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => WsError::Reset,
            E::Protocol(ProtocolError::InvalidCloseSequence) => {
                WsError::Protocol("invalid close code".into())
            }
            E::Protocol(p) => WsError::Protocol(p.to_string()),
            E::WriteBufferFull(_) => WsError::WriteBufferFull,
            other => WsError::Protocol(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reason_is_cut_at_a_char_boundary() {
        let long = "é".repeat(100);
        let f = CloseFrame::new(1011, long);
        assert!(f.reason.len() <= 123);
        assert_eq!(f.reason.len(), 122);
    }

    #[test]
    fn protocol_errors_map_to_close_codes() {
        assert_eq!(WsError::Protocol("x".into()).close_code(), Some(1002));
        assert_eq!(WsError::InvalidUtf8.close_code(), Some(1007));
        assert_eq!(WsError::TooBig { size: 2, max: 1 }.close_code(), Some(1009));
        assert_eq!(WsError::Reset.close_code(), None);
    }
}
