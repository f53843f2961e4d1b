//! The chatter service: every message goes into the chat's room, which
//! subscribers follow, history reads, and presence tracks (who is subscribed).
//! The room lives on the broker the service is given: in memory, or in Redis,
//! shared by every chatter server on it.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use chatter::{auth::AuthConfig, service::Chatter};
//! let options = nagare::ServerOptions::new();
//! let rooms = chatter::chatter::Rooms::new(nagare::MemoryBroker::new().shared());
//! let app = Chatter::new(AuthConfig::with_key("secret"), rooms).router(options.clone());
//! let listener = nagare::server::Listener::bind("127.0.0.1:8080").await?;
//! options.serve(listener, app, std::time::Duration::from_secs(10)).await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use crate::auth::{AuthConfig, TokenError};
use crate::chatter::{self, ChatSummary, Error, Event};

/// The chatter service.
#[derive(Clone)]
pub struct Chatter {
    inner: Arc<Inner>,
}

struct Inner {
    auth: AuthConfig,
    /// The chat's room: its messages (the last `chatter::SUBSCRIBE_HISTORY`
    /// kept) and its subscribers.
    rooms: chatter::Rooms,
}

impl Chatter {
    /// A chatter whose room is in `rooms` (on their broker).
    pub fn new(auth: AuthConfig, rooms: chatter::Rooms) -> Self {
        Chatter {
            inner: Arc::new(Inner { auth, rooms }),
        }
    }

    /// The router serving the service.
    pub fn router(&self, options: nagare::ServerOptions) -> nagare::axum::Router {
        chatter::server::router(self.clone(), options)
    }

    /// A publisher into the chat's room for one connection's messages.
    fn publisher(&self) -> nagare::Publisher<Event> {
        self.inner.rooms.subscribe().publisher(PUBLISH_DEPTH)
    }
}

/// Messages of one connection published without waiting for the broker's
/// acknowledgement, so a Redis round trip is not paid per message.
const PUBLISH_DEPTH: usize = 256;

/// Messages one summary covers at most: the summary is kept until the client
/// ends its stream, so its size is bounded (`too-long` past it).
pub const SUMMARY_MAX_MESSAGES: usize = 1000;

/// Bytes of message text one summary covers at most (`too-long` past it).
pub const SUMMARY_MAX_BYTES: usize = 1024 * 1024;

/// Publishes a message into the chat's room (every subscriber, on every
/// server, gets it); returns its summary. Fails when the room's broker could
/// not take this or an earlier message.
async fn add(
    publisher: &mut nagare::Publisher<Event>,
    message: String,
) -> Result<ChatSummary, Error> {
    let event = event(message);
    publisher.publish(&event).await?;
    Ok(summary(event))
}

/// The room's event for a message added now.
fn event(message: String) -> Event {
    Event {
        message,
        action: chatter::EventAction::Added,
        added_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

/// What history and summaries report of a message.
fn summary(event: Event) -> ChatSummary {
    ChatSummary {
        length: Some(event.message.chars().count() as i64),
        message: event.message,
        sent_at: event.added_at,
    }
}

/// A member of the room's presence, as `who` lists it.
fn subscriber(member: nagare::broker::Member) -> chatter::Subscriber {
    #[derive(serde::Deserialize)]
    struct Info {
        name: Option<String>,
    }
    let name = member
        .info
        .and_then(|i| serde_json::from_str::<Info>(&i).ok())
        .and_then(|i| i.name);
    chatter::Subscriber {
        id: member.id,
        name,
    }
}

impl chatter::Service for Chatter {
    async fn basic_auth(
        &self,
        user: &str,
        password: &str,
        _scheme: &nagare::security::BasicScheme,
    ) -> Result<(), Error> {
        if self.inner.auth.check_login(user, password) {
            Ok(())
        } else {
            Err(Error::Unauthorized(
                "invalid username and password combination".into(),
            ))
        }
    }

    async fn jwt_auth(
        &self,
        token: &str,
        scheme: &nagare::security::JwtScheme,
    ) -> Result<(), Error> {
        let scopes = self.inner.auth.verify(token).map_err(|e| match e {
            TokenError::Invalid => Error::Unauthorized("invalid token".into()),
            TokenError::InvalidScopes => Error::InvalidScopes("invalid scopes in token".into()),
        })?;
        scheme
            .validate_scopes(&scopes)
            .map_err(Error::InvalidScopes)
    }

    async fn login(&self, _payload: chatter::LoginPayload) -> Result<String, Error> {
        self.inner.auth.mint().map_err(Error::internal)
    }

    async fn echoer(
        &self,
        _payload: chatter::EchoerPayload,
        stream: chatter::EchoerServerStream,
    ) -> Result<(), Error> {
        let (mut tx, mut rx) = stream.split();
        let room = self.inner.rooms.subscribe();
        while let Some(message) = rx.recv().await? {
            // The echo is a receipt: it goes once the room has the message,
            // so a message whose publish fails (Redis down past its
            // deadline: the stream closes with 1013) was never echoed.
            room.publish(&event(message.clone())).await?;
            tx.send(&message).await?;
        }
        Ok(())
    }

    async fn listener(
        &self,
        _payload: chatter::ListenerPayload,
        mut stream: chatter::ListenerServerStream,
    ) -> Result<(), Error> {
        let mut publisher = self.publisher();
        while let Some(message) = stream.recv().await? {
            add(&mut publisher, message).await?;
        }
        Ok(publisher.flush().await?)
    }

    async fn summary(
        &self,
        _payload: chatter::SummaryPayload,
        mut stream: chatter::SummaryServerStream,
    ) -> Result<(), Error> {
        let mut summaries = Vec::new();
        let mut bytes = 0;
        let mut publisher = self.publisher();
        while let Some(message) = stream.recv().await? {
            bytes += message.len();
            if summaries.len() == SUMMARY_MAX_MESSAGES || bytes > SUMMARY_MAX_BYTES {
                // What was published before stays published; this one is not.
                publisher.flush().await?;
                return Err(Error::TooLong(format!(
                    "a summary covers at most {SUMMARY_MAX_MESSAGES} messages and {SUMMARY_MAX_BYTES} bytes"
                )));
            }
            summaries.push(add(&mut publisher, message).await?);
        }
        publisher.flush().await?;
        stream.send_and_close(&summaries).await?;
        Ok(())
    }

    async fn subscribe(
        &self,
        payload: chatter::SubscribePayload,
        mut stream: chatter::SubscribeServerStream,
    ) -> Result<(), Error> {
        // What a returning subscriber missed, then every new message, until it
        // leaves; meanwhile it is listed by `who`.
        Ok(self
            .inner
            .rooms
            .follow_subscribe(&payload, &mut stream)
            .await?)
    }

    async fn who(&self, payload: chatter::WhoPayload) -> Result<Vec<chatter::Subscriber>, Error> {
        // Members come sorted by id: a page is the ones after `after`.
        let members = self.inner.rooms.subscribe().members().await?;
        let after = payload.after.unwrap_or_default();
        Ok(members
            .into_iter()
            .filter(|m| m.id > after)
            .take(payload.limit.clamp(1, 1000) as usize)
            .map(subscriber)
            .collect())
    }

    async fn history(
        &self,
        _payload: chatter::HistoryPayload,
        mut stream: chatter::HistoryServerStream,
    ) -> Result<(), Error> {
        // The view (`?view=`) was checked before the upgrade and renders each
        // send. The room's frames are read back one at a time, not copied:
        // a reader that does not read holds the room's frames and one
        // outbound queue, and `history_reads` of them run at once.
        let kept = self
            .inner
            .rooms
            .subscribe()
            .history(chatter::SUBSCRIBE_HISTORY)
            .await?;
        for message in kept {
            let (_, event) = message?;
            stream.send(&summary(event)).await?;
        }
        Ok(())
    }
}
