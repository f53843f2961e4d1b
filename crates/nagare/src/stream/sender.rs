//! The sending half of a connection: typed messages in, encoded frames queued
//! for the driver, numbered on a `nagare.v1` connection.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Sink;
use tokio_util::sync::CancellationToken;

use crate::broker::{BrokerError, Feed, FeedItem, Room};
use crate::close::{CloseCode, CLIENT_CLOSING, SERVER_CLOSING};
use crate::conn::{Conn, Keepalive, OutboundSender, Priority, Side};
use crate::error::StreamError;
use crate::message::{to_frame, Message};
use crate::resume::{self, ResumePoint, Sequencer};
use crate::stream::ViewName;
use crate::ws::{CloseFrame, Data, TextBytes};

/// Sends typed messages on a connection.
pub struct StreamSender<T> {
    tx: OutboundSender,
    side: Side,
    closed: bool,
    view: Option<ViewName>,
    gone: CancellationToken,
    /// Numbering of a server stream whose client speaks `nagare.v1`.
    seq: Option<Box<Sequencer>>,
    _keepalive: Keepalive,
    _type: PhantomData<fn(&T)>,
}

impl<T: Message> StreamSender<T> {
    pub(super) fn new(
        conn: &Conn,
        side: Side,
        view: Option<ViewName>,
        seq: Option<Box<Sequencer>>,
        keepalive: Keepalive,
    ) -> Self {
        StreamSender {
            tx: conn.outbound.clone(),
            side,
            closed: false,
            view,
            gone: conn.gone.clone(),
            seq,
            _keepalive: keepalive,
            _type: PhantomData,
        }
    }

    /// Queues one message at normal priority; when the outbound queue is full,
    /// does what `ConnConfig::slow_consumer` says (wait, drop the oldest queued
    /// message, or disconnect the peer).
    ///
    /// The message is encoded before this returns, so the future borrows only the
    /// sender (`T` need not be `Sync` to send from a spawned task). Cancel safe: if
    /// the future is dropped, the message was either queued whole or not at all.
    pub fn send(&mut self, msg: &T) -> impl Future<Output = Result<(), StreamError>> + Send + '_ {
        self.send_with_priority(msg, Priority::Normal)
    }

    /// Queues one message with a priority: it overtakes queued messages of lower
    /// priority and keeps its order among messages of its own (see
    /// [`Priority`] for the anti-starvation rule). On a `nagare.v1`
    /// connection messages are numbered, so they keep their order and the
    /// priority is ignored.
    pub fn send_with_priority(
        &mut self,
        msg: &T,
        priority: Priority,
    ) -> impl Future<Output = Result<(), StreamError>> + Send + '_ {
        let frame = if self.closed {
            Err(StreamError::StreamClosed)
        } else if self.side == Side::Client {
            // Checked here, not by the server's 1007 that would end the stream.
            msg.validate_outgoing()
                .map_err(|e| StreamError::InvalidMessage(e.into()))
                .and_then(|()| self.encode(msg))
        } else {
            self.encode(msg)
        };
        Sending {
            sender: self,
            frame: Some(frame),
            priority,
        }
    }

    /// The frame for `msg`: plain, or in its envelope with the number it will get
    /// (numbers are only used up when a frame is queued, so a cancelled send
    /// leaves no gap).
    fn encode(&self, msg: &T) -> Result<Data, StreamError> {
        let view = self.view.as_deref();
        match &self.seq {
            Some(sq) => resume::data_frame(sq.next, msg, view),
            None => to_frame(msg, view),
        }
        .map_err(StreamError::from)
    }

    /// The frame for a room's message `seq`: without a view, the room's
    /// shared plain frame (in an envelope on a `nagare.v1` connection) rather
    /// than an encoding of its own; with one, the message read back and
    /// rendered with it.
    fn encode_room_message(&self, seq: u64, plain: TextBytes) -> Result<Data, StreamError> {
        let numbered = self.seq.is_some();
        match self.view.as_deref() {
            None if numbered => resume::wrap_frame(seq, &plain).map_err(StreamError::from),
            // The room's frame itself: shared, not copied.
            None => Ok(Data::Text(plain)),
            Some(view) => {
                let msg = T::decode(plain.as_str().trim_end().as_bytes(), None).map_err(|e| {
                    StreamError::Broker(BrokerError::Protocol(format!(
                        "room message {seq} cannot be read back: {e}"
                    )))
                })?;
                match numbered {
                    true => resume::data_frame(seq, &msg, Some(view)),
                    false => to_frame(&msg, Some(view)),
                }
                .map_err(StreamError::from)
            }
        }
    }

    /// Queues an encoded frame; on a `nagare.v1` connection, after the position
    /// frame if this is the first.
    fn push_encoded(&mut self, frame: Data, priority: Priority) -> Result<(), StreamError> {
        let Some(sq) = self.seq.as_deref_mut() else {
            return self.tx.push(frame, priority).map_err(|_| self.tx.refusal());
        };
        if !sq.started {
            // Numbers made up by this connection mean nothing to a later one.
            if let Some(p) = &sq.offered {
                return Err(StreamError::TooFarBehind(format!(
                    "this stream keeps no replay log, so it cannot resume after {}",
                    p.seq
                )));
            }
            let epoch = resume::new_epoch();
            self.tx
                .push(resume::position_frame(&epoch, 0), Priority::Normal)
                .map_err(|_| self.tx.refusal())?;
            sq.started = true;
        }
        self.tx
            .push(frame, Priority::Normal)
            .map_err(|_| self.tx.refusal())?;
        sq.next += 1;
        Ok(())
    }

    /// Sends the messages of a room: first what the client missed (when it
    /// resumes from a point the room still keeps), then every message
    /// published, until the client leaves (`Ok`).
    ///
    /// On a `nagare.v1` connection each message carries its number in the
    /// room. A client that comes back after the room restarted (its history
    /// was lost) is told so by the first frame's new epoch and continues from
    /// the oldest message the room keeps; the same happens mid-stream. A
    /// client whose resume point the room no longer keeps, or that falls so
    /// far behind that the room's history overtakes it, gets
    /// [`StreamError::TooFarBehind`] (close 4010 when the method returns it).
    /// Plain Goa clients get the messages published from now on, unnumbered.
    /// Call it before any `send`.
    pub async fn follow(&mut self, room: &Room<T>) -> Result<(), StreamError> {
        let from = match self.seq.as_deref_mut() {
            Some(sq) if sq.started => {
                return Err(StreamError::Misuse(
                    "follow() must come before any send() on a resumable stream",
                ))
            }
            // Taken, not cloned: nothing after the start needs the offer.
            Some(sq) => sq.offered.take(),
            None => None,
        };
        let feed = room.follow(from.as_ref()).await?;
        self.follow_feed(feed).await
    }

    /// [`follow`](Self::follow) with a feed opened elsewhere (from the point the
    /// client offered, see [`resume_point`](Self::resume_point)).
    pub async fn follow_feed(&mut self, mut feed: Feed) -> Result<(), StreamError> {
        if let Some(sq) = self.seq.as_deref_mut() {
            if sq.started {
                return Err(StreamError::Misuse(
                    "follow() must come before any send() on a resumable stream",
                ));
            }
            let at = feed.position();
            std::future::poll_fn(|cx| self.poll_reserve(cx)).await?;
            self.push_numbered(resume::position_frame(&at.epoch, at.seq), at.seq)?;
        }
        // One poll function rather than a `select!` of futures: an idle follower
        // (most of them) then holds only its feed and the frame it is about to
        // queue, and waits as one waker in the room and one in the queue.
        let mut pending: Option<(Data, u64)> = None;
        std::future::poll_fn(|cx| loop {
            if let Some((frame, last)) = pending.take() {
                if self.closed {
                    return Poll::Ready(Ok(()));
                }
                // Reserved and queued in one look at the queue.
                let mut slot = Some(frame);
                match self.tx.poll_push(cx, &mut slot, Priority::Normal) {
                    Poll::Ready(Ok(())) => self.numbered(last),
                    // Closing: the client is leaving.
                    Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                    Poll::Pending => {
                        pending = slot.map(|frame| (frame, last));
                        return Poll::Pending;
                    }
                }
            }
            match feed.poll_next(cx) {
                Poll::Ready(Ok(FeedItem::Message { seq, frame })) => {
                    pending = Some((self.encode_room_message(seq, frame)?, seq));
                }
                Poll::Ready(Ok(FeedItem::Restarted { epoch, after })) => {
                    // Plain clients see nothing: their messages were never numbered.
                    if self.seq.is_some() {
                        pending = Some((resume::position_frame(&epoch, after), after));
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                // Nothing to send: wait for a message, or for the client to
                // leave (woken when the driver ends).
                Poll::Pending => {
                    return match self.tx.poll_closed(cx) {
                        Poll::Ready(()) => Poll::Ready(Ok(())),
                        Poll::Pending => Poll::Pending,
                    }
                }
            }
        })
        .await
    }

    /// The point a `nagare.v1` client offered to resume from, if it offered
    /// one and nothing was sent yet.
    pub fn resume_point(&self) -> Option<&ResumePoint> {
        self.seq
            .as_deref()
            .filter(|sq| !sq.started)
            .and_then(|sq| sq.offered.as_ref())
    }

    /// Queues a frame of a followed room (a message, or a position after a
    /// restart) whose number, or position, is `last`.
    fn push_numbered(&mut self, frame: Data, last: u64) -> Result<(), StreamError> {
        self.tx
            .push(frame, Priority::Normal)
            .map_err(|_| StreamError::StreamClosed)?;
        self.numbered(last);
        Ok(())
    }

    /// A frame of a followed room numbered (or positioned) `last` was queued.
    fn numbered(&mut self, last: u64) {
        if let Some(sq) = self.seq.as_deref_mut() {
            sq.started = true;
            sq.next = last + 1;
        }
    }

    /// The view messages are rendered with (`None` for types without views).
    pub fn view(&self) -> Option<&str> {
        self.view.as_deref()
    }

    /// Ends this side's stream. On the server: close frame 1000 `server closing
    /// connection` after the queued messages. On the client: the JSON `null`
    /// that ends the client stream, after every queued message (the server may
    /// still send). Closing twice is not an error.
    pub async fn close(&mut self) -> Result<(), StreamError> {
        self.finish()
    }

    /// Leaves the connection: close 1000 `client closing connection` after the
    /// queued messages (a client ending a server stream, where there is no
    /// client stream to end with `null`).
    pub(super) fn leave(&mut self) -> Result<(), StreamError> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        self.tx
            .close(CloseFrame::new(CloseCode::NORMAL, CLIENT_CLOSING))
            .map_err(|_| StreamError::StreamClosed)
    }

    fn finish(&mut self) -> Result<(), StreamError> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let queued = match self.side {
            Side::Server => self
                .tx
                .close(CloseFrame::new(CloseCode::NORMAL, SERVER_CLOSING)),
            Side::Client => self.tx.push_last(Data::Text(TextBytes::from("null\n"))),
        };
        queued.map_err(|_| self.tx.refusal())
    }

    /// Resolves when the connection is gone (peer left, failure, or closed).
    /// Server methods waiting on outside events select on it to stop early.
    pub fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        self.gone.clone().cancelled_owned()
    }

    /// Whether the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.gone.is_cancelled()
    }

    /// Messages queued and not yet written.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }

    /// The most messages ever queued at once on this connection.
    pub fn queue_high_water(&self) -> usize {
        self.tx.high_water()
    }

    /// Messages dropped because the queue was full (`SlowConsumer::DropOldest`).
    pub fn dropped(&self) -> u64 {
        self.tx.dropped()
    }

    fn poll_reserve(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        if self.closed {
            return Poll::Ready(Err(StreamError::StreamClosed));
        }
        self.tx.poll_ready(cx).map_err(|_| self.tx.refusal())
    }

    fn start_send_inner(&mut self, msg: &T) -> Result<(), StreamError> {
        let frame = self.encode(msg)?;
        self.push_encoded(frame, Priority::Normal)
    }
}

/// The future of [`StreamSender::send_with_priority`]: a type rather than an
/// `async` block, so that a method waiting for room in the queue keeps the
/// sender and the frame once (64 bytes, against 112 for the block, in every
/// connection whose method waits there).
struct Sending<'a, T> {
    sender: &'a mut StreamSender<T>,
    /// The encoded frame (or why there is none) until it is queued.
    frame: Option<Result<Data, StreamError>>,
    priority: Priority,
}

impl<T: Message> Future for Sending<'_, T> {
    type Output = Result<(), StreamError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(Err(_)) = this.frame {
            if let Some(Err(e)) = this.frame.take() {
                return Poll::Ready(Err(e));
            }
        }
        if this.sender.seq.is_none() && !this.sender.closed {
            // Unnumbered: reserved and queued in one look at the queue.
            let mut slot = match this.frame.take() {
                Some(Ok(frame)) => Some(frame),
                // Polled again after it finished.
                _ => return Poll::Ready(Err(StreamError::StreamClosed)),
            };
            let queued = this.sender.tx.poll_push(cx, &mut slot, this.priority);
            this.frame = slot.map(Ok);
            return queued.map_err(|_| this.sender.tx.refusal());
        }
        std::task::ready!(this.sender.poll_reserve(cx))?;
        Poll::Ready(match this.frame.take() {
            Some(Ok(frame)) => this.sender.push_encoded(frame, this.priority),
            // Polled again after it finished.
            _ => Err(StreamError::StreamClosed),
        })
    }
}

impl<T> AsMut<StreamSender<T>> for StreamSender<T> {
    fn as_mut(&mut self) -> &mut StreamSender<T> {
        self
    }
}

impl<T: Message> Sink<T> for StreamSender<T> {
    type Error = StreamError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        self.get_mut().poll_reserve(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), StreamError> {
        self.get_mut().start_send_inner(&item)
    }

    /// Queued messages are the driver's to write; there is nothing to flush here.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        Poll::Ready(self.get_mut().finish())
    }
}

impl<T> std::fmt::Debug for StreamSender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSender")
            .field("side", &self.side)
            .field("view", &self.view)
            .field("numbered", &self.seq.is_some())
            .field("queued", &self.tx.len())
            .field("closed", &self.closed)
            .finish()
    }
}
