//! A write batch: the message the driver took from the outbound queue and
//! every message queued behind it, written into the socket's buffer and
//! flushed once.
//!
//! A future type rather than an `async fn`: every connection's driver holds
//! this state while it writes, and an `async fn` would keep its argument
//! twice (as the argument and as the local it is moved into) and its
//! borrowed parts beside the driver's own reference.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::conn::outbound::{Outbound, OutboundReceiver};
use crate::ws::{CloseFrame, Data, Socket, WsError};

/// What a batch wrote, and the close frame queued behind it, if one was.
#[derive(Debug, Default)]
pub(super) struct Written {
    pub(super) messages: u64,
    pub(super) bytes: u64,
    pub(super) close: Option<CloseFrame>,
}

/// The future of one batch: see the module documentation.
pub(super) struct WriteBatch<'a, S> {
    socket: &'a mut Socket<S>,
    outbound: &'a mut OutboundReceiver,
    /// The message to write next, taken from the queue (or the first one).
    next: Option<Data>,
    written: Written,
}

impl<'a, S> WriteBatch<'a, S> {
    pub(super) fn new(
        socket: &'a mut Socket<S>,
        outbound: &'a mut OutboundReceiver,
        first: Data,
    ) -> Self {
        WriteBatch {
            socket,
            outbound,
            next: Some(first),
            written: Written::default(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Future for WriteBatch<'_, S> {
    type Output = Result<Written, WsError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // Once `next` is empty, every message is in the socket's buffer and
        // only the flush is left.
        while let Some(data) = this.next.take() {
            match this.socket.poll_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    this.next = Some(data);
                    return Poll::Pending;
                }
            }
            tracing::trace!(bytes = data.len(), "message out");
            this.written.messages += 1;
            this.written.bytes += data.len() as u64;
            this.socket.start_send(data)?;
            match this.outbound.try_next() {
                Some(Outbound::Data(d)) => this.next = Some(d),
                Some(Outbound::Close(f)) => this.written.close = Some(f),
                None => {}
            }
        }
        std::task::ready!(this.socket.poll_flush(cx))?;
        Poll::Ready(Ok(std::mem::take(&mut this.written)))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::protocol::Role;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::WebSocketStream;

    use super::*;
    use crate::conn::outbound::{queue, Priority, SlowConsumer};
    use crate::ws::TextBytes;

    #[tokio::test]
    async fn a_batch_larger_than_the_pipe_waits_and_loses_nothing() {
        // A pipe far smaller than the batch, and a batch larger than the
        // socket's write buffer (128 KiB): the writes wait for the peer to
        // read, several times, mid-batch.
        let (ours, theirs) = tokio::io::duplex(256);
        let mut socket =
            Socket::new(WebSocketStream::from_raw_socket(ours, Role::Server, None).await);
        let mut peer = WebSocketStream::from_raw_socket(theirs, Role::Client, None).await;
        let (tx, mut rx) = queue(64, SlowConsumer::Wait);
        let sent: Vec<String> = (1..=50)
            .map(|i| format!("message {i:03} {}", "x".repeat(8 * 1024)))
            .collect();
        for m in &sent[1..] {
            assert!(tx
                .push(Data::Text(TextBytes::from(m.clone())), Priority::Normal)
                .is_ok());
        }
        assert!(tx.close(CloseFrame::new(1000, "done")).is_ok());
        let first = Data::Text(TextBytes::from(sent[0].clone()));
        let batch = WriteBatch::new(&mut socket, &mut rx, first);
        let read = async {
            let mut got = Vec::new();
            while got.len() < sent.len() {
                match peer.next().await {
                    Some(Ok(Message::Text(t))) => got.push(t.as_str().to_owned()),
                    other => panic!("a text message expected, got {other:?}"),
                }
            }
            got
        };
        let (written, got) = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            tokio::join!(batch, read)
        })
        .await
        .expect("the batch and the reader finish");
        let written = written.expect("the batch is written");
        assert_eq!(got, sent);
        assert_eq!(written.messages, 50);
        assert_eq!(written.close.map(|f| f.code), Some(1000));
    }
}
