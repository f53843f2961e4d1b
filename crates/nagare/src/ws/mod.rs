//! The WebSocket adapter: the only module that knows which WebSocket crate nagare
//! uses (tokio-tungstenite; see `docs/decisions/0001-websocket-crate.md`).
//!
//! Everything above this module sees [`Socket`], [`Data`], [`WsConfig`] and
//! [`WsError`], so the crate underneath can be swapped without touching the
//! connection driver, the stream handles or generated code.
//!
//! The adapter owns the protocol edges the rest of nagare relies on:
//! - text frames are UTF-8 validated (by the crate) before they reach the caller;
//! - every protocol error is answered with a close frame carrying the right code
//!   (1002 protocol, 1007 invalid data, 1009 too big) before the TCP connection is
//!   dropped, see [`WsError::close_code`];
//! - pings are answered and close frames echoed by the crate whenever the socket is
//!   read, which the connection driver does continuously;
//! - buffers are small and explicit ([`WsConfig`]), so an idle connection costs a few
//!   KiB, not the crate's 128 KiB default read buffer.

mod accept;
mod client_handshake;
mod config;
mod connect;
#[cfg(feature = "compression")]
mod deflate;
mod socket;

pub use accept::{accept, accept_with, offered_protocols, Handshake, HandshakeError};
pub use config::WsConfig;
pub use connect::{connect, ClientIo, ConnectError};
#[cfg(feature = "compression")]
pub use deflate::{offers_deflate, Compression};
pub use socket::{
    CloseFrame, Data, Received, Socket, SocketReader, SocketWriter, TextBytes, WsError,
};
