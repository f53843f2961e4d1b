//! The WebSocket adapter: the only module that knows which WebSocket crate nagare
//! uses (tokio-tungstenite; see `docs/decisions/0001-websocket-crate.md`).
//!
//! Everything above this module sees a socket, [`Data`], [`CloseFrame`],
//! [`WsConfig`] and [`WsError`], so the crate underneath can be swapped without
//! touching the connection driver, the stream handles or generated code. Only
//! those values are public: applications meet them in raw streams, close frames
//! and configuration; the handshakes and the socket itself stay inside nagare.
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

#[cfg(feature = "server")]
mod accept;
#[cfg(feature = "client")]
pub(crate) mod client_handshake;
mod config;
#[cfg(feature = "client")]
mod connect;
#[cfg(feature = "compression")]
mod deflate;
mod frame;
mod headers;
#[cfg(feature = "testing")]
pub(crate) mod memory;
mod socket;

#[cfg(feature = "server")]
pub(crate) use accept::accept_with;
pub use config::WsConfig;
#[cfg(feature = "client")]
pub(crate) use connect::{connect, ConnectError, TlsRoots};
#[cfg(feature = "compression")]
pub(crate) use deflate::offers_deflate;
#[cfg(feature = "compression")]
pub use deflate::Compression;
pub(crate) use frame::Received;
pub use frame::{CloseFrame, Data, TextBytes, WsError, MAX_CLOSE_REASON};
pub(crate) use headers::{header_has_token, offered_protocols};
pub(crate) use socket::Socket;
