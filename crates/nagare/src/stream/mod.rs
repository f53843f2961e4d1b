//! Typed stream handles, one per streaming pattern and side, with the semantics of
//! Goa's generated Go interfaces.
//!
//! | pattern | server handle | client handle |
//! |---|---|---|
//! | server streaming | [`ServerStream`]: `send`, `close` | [`ClientStream`]: `recv` |
//! | client streaming | [`ServerRecvStream`]: `recv`, `close` | [`ClientSendStream`]: `send`, `close` |
//! | client streaming with result | [`ServerRecvResultStream`]: `recv`, `send_and_close` | [`ClientSendResultStream`]: `send`, `close_and_recv` |
//! | bidirectional | [`BidiServerStream`]: `send`, `recv`, `close`, `split` | [`BidiClientStream`]: `send`, `recv`, `close`, `split` |
//!
//! `recv` returns `Ok(None)` at the peer's end of stream (the client's JSON `null`,
//! or the server's close 1000) and an error when the connection fails. Sends are
//! queued (bounded by `ConnConfig::outbound_queue`) and written in batches; a
//! send fails with [`StreamError::StreamClosed`](crate::StreamError::StreamClosed) once the connection is gone.
//! Bidirectional streams [`split`](BidiServerStream::split) into a [`StreamSender`]
//! and a [`StreamReceiver`] that can move to different tasks; receivers are
//! [`futures_util::Stream`]s and senders are [`futures_util::Sink`]s.
//!
//! # Example
//!
//! ```no_run
//! # async fn example(stream: nagare::BidiServerStream<String, String>) -> Result<(), nagare::StreamError> {
//! let (mut tx, mut rx) = stream.split();
//! while let Some(msg) = rx.recv().await? {
//!     tx.send(&msg).await?;
//! }
//! # Ok(()) }
//! ```

//!
//! What lives here: the handles of both sides, the [`StreamSender`] and
//! [`StreamReceiver`] halves they are made of, and [`RawStream`] for untyped data
//! messages. Every handle ends the same way: `close(&mut self)` is async, may be
//! called more than once, and after a failure every call returns the error that
//! ended the stream.

// The handles delegate to their halves with these; defined before the modules
// that use them.
macro_rules! delegate_send {
    () => {
        /// Queues one message; see [`StreamSender::send`].
        pub fn send(
            &mut self,
            msg: &R,
        ) -> impl Future<Output = Result<(), StreamError>> + Send + '_ {
            self.tx.send(msg)
        }

        /// Queues one message with a priority; see [`StreamSender::send_with_priority`].
        pub fn send_with_priority(
            &mut self,
            msg: &R,
            priority: Priority,
        ) -> impl Future<Output = Result<(), StreamError>> + Send + '_ {
            self.tx.send_with_priority(msg, priority)
        }

        /// Messages queued and not yet written; see [`StreamSender::queued`].
        pub fn queued(&self) -> usize {
            self.tx.queued()
        }
    };
}

macro_rules! delegate_recv {
    () => {
        /// The next message, `Ok(None)` at the peer's end of stream; see
        /// [`StreamReceiver::recv`].
        pub async fn recv(&mut self) -> Result<Option<P>, StreamError> {
            self.rx.recv().await
        }
    };
}

/// `Debug` for a handle made of halves, without bounds on the message types.
macro_rules! debug_halves {
    ($name:ident<$($t:ident),+> { $($field:ident),+ }) => {
        impl<$($t),+> std::fmt::Debug for $name<$($t),+> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    $(.field(stringify!($field), &self.$field))+
                    .finish_non_exhaustive()
            }
        }
    };
}

mod client;
mod raw;
mod receiver;
mod sender;
mod server;

use std::sync::Arc;

pub use client::{BidiClientStream, ClientSendResultStream, ClientSendStream, ClientStream};
pub use raw::RawStream;
pub use receiver::StreamReceiver;
pub use sender::StreamSender;
pub use server::{BidiServerStream, ServerRecvResultStream, ServerRecvStream, ServerStream};

use crate::conn::{Conn, Keepalive, Side};
use crate::message::Message;

/// The name of a result view (`default`, `tiny`...), shared cheaply.
pub type ViewName = Arc<str>;

/// Splits a connection into typed halves.
fn halves<P: Message, R: Message>(
    mut conn: Conn,
    side: Side,
    recv_view: Option<ViewName>,
    send_view: Option<ViewName>,
) -> (StreamSender<R>, StreamReceiver<P>) {
    let keepalive = Keepalive::new(conn.outbound.clone());
    let seq = conn.sequencer.take();
    let tx = StreamSender::new(&conn, side, send_view, seq, keepalive.clone());
    let rx = StreamReceiver::new(conn, side, recv_view, keepalive);
    (tx, rx)
}
