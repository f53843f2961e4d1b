//! The close codes nagare sends, and what each tells the peer.
//!
//! | code | when | [`ErrorKind`] |
//! |---|---|---|
//! | 1000 | the stream ended normally (`server closing connection`) | not an error |
//! | 1001 | the server is shutting down; idle timeout; ping timeout | temporary: retry, elsewhere or later |
//! | 1002 | the peer broke the WebSocket protocol | fatal |
//! | 1006 | (never sent) the connection dropped without a close frame | temporary |
//! | 1007 | a message was not valid JSON, not of the designed type, or failed validation | fatal: fix the message |
//! | 1008 | policy: authentication, origin; a slow consumer when so configured | fatal |
//! | 1009 | a message exceeded the size limit | fatal: send less |
//! | 1011 | internal error in the service | temporary |
//! | 1013 | overloaded or too slow a consumer, try again later | resource exhausted: back off |
//! | 4000 | a designed error; the reason is `<error name>: <message>` | fatal (the client gets the typed error) |
//! | 4001 | the credentials the stream was opened with expired (`credentials expired`) | temporary: reconnect with fresh credentials |
//! | 4010 | resume protocol (`nagare.v1`): the client is too far behind to resume, or the stream restarted | fatal: re-sync, then subscribe again |

/// Close codes used by nagare (RFC 6455 section 7.4 plus the application range).
#[derive(Debug, Clone, Copy)]
pub struct CloseCode;

impl CloseCode {
    /// The stream ended normally.
    pub const NORMAL: u16 = 1000;
    /// Shutting down, idle, or the peer stopped answering pings.
    pub const GOING_AWAY: u16 = 1001;
    /// The peer broke RFC 6455.
    pub const PROTOCOL: u16 = 1002;
    /// A message that is not valid UTF-8, JSON of the designed type, or valid.
    pub const INVALID_DATA: u16 = 1007;
    /// A policy refused the peer (a slow consumer, when so configured).
    pub const POLICY: u16 = 1008;
    /// A message over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// A failure inside the service.
    pub const INTERNAL: u16 = 1011;
    /// Overloaded, or too slow a consumer: back off, then retry.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// A designed error: the reason starts with the error's name.
    pub const DESIGNED_ERROR: u16 = 4000;
    /// The credentials the stream was opened with expired (a JWT's `exp`):
    /// reconnect with fresh ones.
    pub const CREDENTIALS_EXPIRED: u16 = 4001;
    /// A resumable stream cannot continue from the client's resume point (see
    /// `docs/protocol.md`, the `nagare.v1` extension).
    pub const TOO_FAR_BEHIND: u16 = 4010;
}

/// Reason sent with 1000 when the server ends a stream, as Goa's servers do.
pub const SERVER_CLOSING: &str = "server closing connection";
/// Reason sent with 1000 when a client leaves a server stream, as Goa's clients do.
pub const CLIENT_CLOSING: &str = "client closing connection";

/// What a caller can do about an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Retrying (now, or elsewhere) may succeed: the connection dropped, the server
    /// restarted or failed internally.
    Temporary,
    /// The server is overloaded or the peer too slow: retry after backing off.
    ResourceExhausted,
    /// Retrying the same thing fails the same way: invalid data, refused
    /// credentials, a protocol violation, a designed error.
    Fatal,
}

impl ErrorKind {
    /// The kind a close code tells a client about (see the table in this module).
    pub fn of_close_code(code: u16) -> ErrorKind {
        match code {
            CloseCode::GOING_AWAY
            | CloseCode::INTERNAL
            | CloseCode::CREDENTIALS_EXPIRED
            | 1006
            | 1012 => ErrorKind::Temporary,
            CloseCode::TRY_AGAIN_LATER => ErrorKind::ResourceExhausted,
            _ => ErrorKind::Fatal,
        }
    }

    /// The kind an HTTP status tells a client about.
    pub fn of_status(status: u16) -> ErrorKind {
        match status {
            429 | 503 => ErrorKind::ResourceExhausted,
            408 | 500..=599 => ErrorKind::Temporary,
            _ => ErrorKind::Fatal,
        }
    }

    /// Whether an immediate or backed-off retry can help.
    pub fn is_retryable(self) -> bool {
        self != ErrorKind::Fatal
    }

    /// A label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Temporary => "temporary",
            ErrorKind::ResourceExhausted => "resource_exhausted",
            ErrorKind::Fatal => "fatal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_and_statuses_have_kinds() {
        assert_eq!(ErrorKind::of_close_code(1001), ErrorKind::Temporary);
        assert_eq!(ErrorKind::of_close_code(1013), ErrorKind::ResourceExhausted);
        assert_eq!(ErrorKind::of_close_code(1007), ErrorKind::Fatal);
        assert_eq!(ErrorKind::of_close_code(4000), ErrorKind::Fatal);
        assert_eq!(ErrorKind::of_status(503), ErrorKind::ResourceExhausted);
        assert_eq!(ErrorKind::of_status(502), ErrorKind::Temporary);
        assert_eq!(ErrorKind::of_status(401), ErrorKind::Fatal);
        assert!(!ErrorKind::Fatal.is_retryable());
    }
}
