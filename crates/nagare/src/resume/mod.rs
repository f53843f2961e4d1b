//! Streams that survive disconnects: the `nagare.v1` extension of Goa's protocol
//! on the wire.
//!
//! What a resumable stream sends is a room's messages ([`crate::broker`]),
//! numbered by the room and followed by each connection from where its client
//! stands ([`StreamSender::follow`](crate::stream::StreamSender::follow)).
//!
//! - [`ResumePoint`]: where a client stands (epoch and last sequence number), as
//!   it offers it when it reconnects;
//! - the frames of the extension (position, numbered messages), used by the
//!   stream handles on the server and by the resumable client.
//!
//! The client side, which reconnects and checks the numbers, is
//! [`ResumableStream`](crate::client::ResumableStream). The whole extension is
//! described in `docs/protocol.md`.

mod wire;

pub(crate) use wire::{
    data_frame, error_frame, new_epoch, parse, position_frame, wrap_frame, Frame, Sequencer,
};
pub use wire::{ResumePoint, PROTOCOL, RESUME_PREFIX};
