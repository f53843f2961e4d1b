//! Testing a service without opening a port (feature `testing`): its router
//! served in this process with the generated typed client bound to it, one
//! method driven directly with scripted client messages, and a deadline for
//! every wait, so that a broken test fails instead of hanging.
//!
//! # The whole service, through its client
//!
//! [`TestServer`] serves a router (a generated `server::router(service,
//! options)`, or one of your own) over in-memory pipes: requests go through
//! the same HTTP decoding, auth hooks and WebSocket upgrade as on a network,
//! without a socket. Its [`dialer`](TestServer::dialer) makes the generated
//! client talk to it:
//!
//! ```ignore
//! let server = nagare::testing::TestServer::new(chat::server::router(MyChat::new(), nagare::ServerOptions::new()));
//! let client = chat::client::Client::from_dialer(server.dialer());
//! let mut echo = nagare::testing::within("dial", client.echo()).await?;
//! ```
//!
//! # One method, with scripted messages
//!
//! The stream pairs ([`bidi`], [`server_stream`], [`client_stream`],
//! [`client_stream_with_result`]) give the two ends of one connection: hand
//! the server end to the service's method, script the client end.
//!
//! ```
//! # async fn example() -> Result<(), nagare::StreamError> {
//! use nagare::testing::{bidi, within};
//! use nagare::{BidiServerStream, StreamError};
//!
//! // A method under test: doubles every number.
//! async fn double(mut s: BidiServerStream<i64, i64>) -> Result<(), StreamError> {
//!     while let Some(n) = s.recv().await? {
//!         s.send(&(n * 2)).await?;
//!     }
//!     Ok(())
//! }
//!
//! let (server, mut client) = bidi::<i64, i64>().await;
//! let method = tokio::spawn(double(server));
//! client.send(&21).await?;
//! assert_eq!(within("the answer", client.recv()).await?, Some(42));
//! client.close().await?;
//! assert_eq!(within("the end", client.recv()).await?, None);
//! within("the method", method).await.expect("it returns")?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::time::Duration;

use crate::client::Dialer;
use crate::conn::{self, Conn, ConnConfig, Side};
use crate::error::ClientError;
use crate::stream::{
    BidiClientStream, BidiServerStream, ClientSendResultStream, ClientSendStream, ClientStream,
    ServerRecvResultStream, ServerRecvStream, ServerStream,
};
use crate::Message;

/// How long [`within`] waits, and a [`TestServer`]'s clients wait to connect:
/// far longer than anything in memory takes, far shorter than a hung test
/// suite.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Awaits `future`, or panics naming `what` after [`DEADLINE`]: a test that
/// would hang fails instead, saying what it was waiting for.
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: nothing after {DEADLINE:?}"),
    }
}

/// A router served in this process, reached through in-memory pipes: every
/// call goes through the router's HTTP decoding, auth hooks and WebSocket
/// upgrade as it would on a network, without a port. Clones share the router.
#[derive(Clone, Debug)]
pub struct TestServer {
    router: axum::Router,
}

impl TestServer {
    /// Serves `router` (a generated `server::router(service, options)`,
    /// merged with routes of your own if you like).
    pub fn new(router: axum::Router) -> Self {
        TestServer { router }
    }

    /// A dialer whose calls this server answers: give it to the generated
    /// client (`Client::from_dialer(server.dialer())`). Connecting is bounded
    /// by [`DEADLINE`].
    pub fn dialer(&self) -> Dialer {
        let mut dialer = Dialer::in_memory(self.router.clone());
        dialer.set_config(test_config());
        dialer
    }

    /// Opens a connection to the WebSocket endpoint at `path` (a hand-written
    /// one, say): wrap it in the stream type it speaks.
    pub async fn dial(&self, path: &str) -> Result<Conn, ClientError> {
        let request = crate::client::Request::new(path.to_owned());
        self.dialer().dial(&request).await.map(|(conn, _)| conn)
    }
}

/// Connection settings for tests: the defaults, with connecting bounded by
/// [`DEADLINE`].
fn test_config() -> ConnConfig {
    ConnConfig {
        connect_timeout: DEADLINE,
        ..ConnConfig::default()
    }
}

/// The two ends of one connection in memory, each with its driver running.
async fn connection() -> (Conn, Conn) {
    let config = test_config();
    let (server, client) = crate::ws::memory::pair(config.ws).await;
    let (server, server_driver) = conn::open(server, &config, Side::Server, Default::default());
    let (client, client_driver) = conn::open(client, &config, Side::Client, Default::default());
    tokio::spawn(server_driver);
    tokio::spawn(client_driver);
    (server, client)
}

/// A bidirectional stream's two ends: give the server end to the method.
pub async fn bidi<P: Message, R: Message>() -> (BidiServerStream<P, R>, BidiClientStream<P, R>) {
    let (server, client) = connection().await;
    (
        BidiServerStream::new(server, None),
        BidiClientStream::new(client, None),
    )
}

/// A server stream's two ends: give the server end to the method.
pub async fn server_stream<R: Message>() -> (ServerStream<R>, ClientStream<R>) {
    let (server, client) = connection().await;
    (
        ServerStream::new(server, None),
        ClientStream::new(client, None),
    )
}

/// A client stream's two ends: give the server end to the method.
pub async fn client_stream<P: Message>() -> (ServerRecvStream<P>, ClientSendStream<P>) {
    let (server, client) = connection().await;
    (ServerRecvStream::new(server), ClientSendStream::new(client))
}

/// A client stream with a final result: give the server end to the method.
pub async fn client_stream_with_result<P: Message, R: Message>(
) -> (ServerRecvResultStream<P, R>, ClientSendResultStream<P, R>) {
    let (server, client) = connection().await;
    (
        ServerRecvResultStream::new(server, None),
        ClientSendResultStream::new(client, None),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StreamError;

    #[tokio::test]
    async fn a_client_streams_sum_is_answered_once_it_ends() {
        let (mut server, mut client) = client_stream_with_result::<i64, i64>().await;
        let method = tokio::spawn(async move {
            let mut total = 0;
            while let Some(n) = server.recv().await? {
                total += n;
            }
            server.send_and_close(&total).await
        });
        for n in 1..=4 {
            client.send(&n).await.expect("send");
        }
        assert_eq!(
            within("the sum", client.close_and_recv()).await.ok(),
            Some(10)
        );
        assert!(within("the method", method).await.is_ok());
    }

    #[tokio::test]
    async fn a_server_stream_ends_when_its_method_returns() {
        let (mut server, mut client) = server_stream::<String>().await;
        tokio::spawn(async move {
            server.send(&"one".to_owned()).await?;
            Ok::<_, StreamError>(())
        });
        assert_eq!(
            within("one", client.recv()).await.ok().flatten().as_deref(),
            Some("one")
        );
        assert_eq!(within("the end", client.recv()).await.ok(), Some(None));
    }

    #[tokio::test]
    #[should_panic(expected = "a message that never comes: nothing after")]
    async fn a_wait_that_never_ends_fails_the_test() {
        tokio::time::pause();
        within("a message that never comes", std::future::pending::<()>()).await;
    }
}
