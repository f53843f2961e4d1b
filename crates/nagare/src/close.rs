//! The close codes nagare sends, and what each tells the peer.
//!
//! | code | when | can the client retry? |
//! |---|---|---|
//! | 1000 | the stream ended normally (`server closing connection`) | n/a |
//! | 1001 | the server is shutting down | yes, elsewhere or later |
//! | 1002 | the peer broke the WebSocket protocol | no |
//! | 1007 | a message was not valid JSON, not of the designed type, or failed validation | no, fix the message |
//! | 1008 | policy: authentication, origin | no |
//! | 1009 | a message exceeded the size limit | no, send less |
//! | 1011 | internal error in the service | maybe |
//! | 1013 | overloaded, try again later | yes, with backoff |
//! | 4000 | a designed error; the reason is `<error name>: <message>` | per design |

/// Close codes used by nagare (RFC 6455 section 7.4 plus the application range).
#[derive(Debug, Clone, Copy)]
pub struct CloseCode;

impl CloseCode {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL: u16 = 1002;
    pub const INVALID_DATA: u16 = 1007;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const INTERNAL: u16 = 1011;
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// A designed error: the reason starts with the error's name.
    pub const DESIGNED_ERROR: u16 = 4000;
}

/// Reason sent with 1000 when the server ends a stream, as Goa's servers do.
pub const SERVER_CLOSING: &str = "server closing connection";
/// Reason sent with 1000 when a client leaves a server stream, as Goa's clients do.
pub const CLIENT_CLOSING: &str = "client closing connection";
