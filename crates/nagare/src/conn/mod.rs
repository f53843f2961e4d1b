//! One WebSocket connection: a driver future that owns the socket, and the bounded
//! queues through which stream handles talk to it.
//!
//! ```text
//!  handles ──outbound (bounded)──▶ driver ──▶ socket
//!  handles ◀──inbound (bounded)─── driver ◀── socket
//! ```
//!
//! The driver reads continuously (so pings are answered and close frames echoed
//! while the application is busy elsewhere) as long as the inbound queue has room,
//! and writes every message that is queued before flushing once, so a burst of
//! sends costs one syscall. On the server the driver runs in the same task as the
//! service method, so a message costs no task switch, only a queue push.
//!
//! What lives here: the settings of a connection ([`ConnConfig`]), the outbound
//! queue with its priorities and slow-consumer policy ([`Priority`],
//! [`SlowConsumer`]), the driver (a state machine over the socket), its clocks,
//! the receiving side, and the counters it keeps. Typed streams are made from a
//! [`Conn`] in [`crate::stream`].

mod batch;
mod config;
mod driver;
mod inbound;
mod outbound;
mod quota;
pub(crate) mod rate;
mod stats;
mod timing;
mod together;
#[cfg(test)]
pub(crate) mod wake_count;

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

pub use config::{ConnConfig, OriginPolicy};
pub(crate) use inbound::{Keepalive, RawReceiver};
pub(crate) use outbound::OutboundSender;
pub use outbound::{Priority, SlowConsumer, STARVATION_LIMIT};
pub use rate::Rate;
pub(crate) use stats::ConnStats;
pub(crate) use together::{Finished, Together};

use crate::resume::Sequencer;
use crate::ws::Socket;

/// The handle side of a connection, before typed streams are made from it
/// (`ServerStream::new(conn, view)` and the like).
pub struct Conn {
    pub(crate) inbound: inbound::InboundReceiver,
    pub(crate) outbound: OutboundSender,
    /// Cancelled when the driver ends: the connection is gone.
    pub(crate) gone: CancellationToken,
    /// How long a client waits for the server to finish after its own end.
    pub(crate) close_timeout: Duration,
    /// Set on a server connection that selected `nagare.v1`.
    pub(crate) sequencer: Option<Box<Sequencer>>,
}

/// Which side of the connection this process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// Creates the handles and the driver of a connection. The driver must be polled
/// for the handles to make progress; it ends when the connection is closed.
pub(crate) fn open<S>(
    socket: Socket<S>,
    config: &ConnConfig,
    side: Side,
    stats: Arc<ConnStats>,
) -> (Conn, impl std::future::Future<Output = ()> + Send)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (in_tx, in_rx) = inbound::queue(config.inbound_queue);
    let (out_tx, out_rx) = outbound::queue(
        config.outbound_queue,
        config.outbound_bytes,
        config.slow_consumer,
    );
    let gone = CancellationToken::new();
    let driver = driver::Driver::new(socket, config, side, stats, in_tx, out_rx, &gone);
    (
        Conn {
            inbound: in_rx,
            outbound: out_tx,
            gone,
            close_timeout: config.close_timeout + config.write_timeout,
            sequencer: None,
        },
        driver.run(),
    )
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("gone", &self.gone.is_cancelled())
            .field("numbered", &self.sequencer.is_some())
            .finish_non_exhaustive()
    }
}
