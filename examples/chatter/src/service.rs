//! The chatter service: a message store shared by every connection, and a
//! broadcast of new messages to subscribers.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use chatter::{auth::AuthConfig, service::Chatter};
//! let options = nagare::ServerOptions::new();
//! let app = Chatter::new(AuthConfig::with_key("secret")).router(options.clone());
//! let listener = nagare::server::Listener::bind("127.0.0.1:8080").await?;
//! options.serve(listener, app, std::time::Duration::from_secs(10)).await?;
//! # Ok(()) }
//! ```

use std::sync::{Arc, RwLock};

use tokio::sync::broadcast;

use crate::auth::{AuthConfig, TokenError};
use crate::chatter::{self, ChatSummary, Error, Event};

/// Events kept for subscribers that are momentarily behind; one further behind is
/// closed (1011) rather than silently skipping messages.
const EVENT_BACKLOG: usize = 1024;

/// The chatter service.
#[derive(Clone)]
pub struct Chatter {
    inner: Arc<Inner>,
}

struct Inner {
    auth: AuthConfig,
    /// Every message received, in order. Readers (history) copy it out and never
    /// hold the lock across an await.
    messages: RwLock<Vec<ChatSummary>>,
    events: broadcast::Sender<Event>,
}

impl Chatter {
    /// A chatter with an empty history.
    pub fn new(auth: AuthConfig) -> Self {
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        Chatter {
            inner: Arc::new(Inner {
                auth,
                messages: RwLock::new(Vec::new()),
                events,
            }),
        }
    }

    /// The router serving the service.
    pub fn router(&self, options: nagare::ServerOptions) -> nagare::axum::Router {
        chatter::server::router(self.clone(), options)
    }

    /// Stores a message and tells every subscriber; returns its summary.
    fn add(&self, message: String) -> ChatSummary {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let summary = ChatSummary {
            length: Some(message.chars().count() as i64),
            message: message.clone(),
            sent_at: now.clone(),
        };
        match self.inner.messages.write() {
            Ok(mut m) => m.push(summary.clone()),
            // A panic elsewhere while holding the lock cannot leave a half-pushed
            // Vec; keep serving.
            Err(poisoned) => poisoned.into_inner().push(summary.clone()),
        }
        let _ = self.inner.events.send(Event {
            message,
            action: "added".into(),
            added_at: now,
        });
        summary
    }

    fn history(&self) -> Vec<ChatSummary> {
        match self.inner.messages.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
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
        while let Some(message) = rx.recv().await? {
            self.add(message.clone());
            tx.send(&message).await?;
        }
        Ok(())
    }

    async fn listener(
        &self,
        _payload: chatter::ListenerPayload,
        mut stream: chatter::ListenerServerStream,
    ) -> Result<(), Error> {
        while let Some(message) = stream.recv().await? {
            self.add(message);
        }
        Ok(())
    }

    async fn summary(
        &self,
        _payload: chatter::SummaryPayload,
        mut stream: chatter::SummaryServerStream,
    ) -> Result<(), Error> {
        let mut summaries = Vec::new();
        while let Some(message) = stream.recv().await? {
            summaries.push(self.add(message));
        }
        stream.send_and_close(&summaries).await?;
        Ok(())
    }

    async fn subscribe(
        &self,
        _payload: chatter::SubscribePayload,
        mut stream: chatter::SubscribeServerStream,
    ) -> Result<(), Error> {
        let mut events = self.inner.events.subscribe();
        let gone = stream.closed();
        tokio::pin!(gone);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(event) => stream.send(&event).await?,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        return Err(Error::internal(format!("subscriber fell {n} events behind")));
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                () = &mut gone => return Ok(()),
            }
        }
    }

    async fn history(
        &self,
        _payload: chatter::HistoryPayload,
        mut stream: chatter::HistoryServerStream,
    ) -> Result<(), Error> {
        // The view (`?view=`) was checked before the upgrade and renders each send.
        for summary in self.history() {
            stream.send(&summary).await?;
        }
        Ok(())
    }
}
