//! Connect with retry against chatter: refused credentials are final, so a retry
//! policy makes exactly one attempt.

mod common;

use std::time::Duration;

use ::chatter::chatter::{self, client::Client, Error};
use common::{bounded, start};
use nagare::{ConnectionState, RetryPolicy};
use nagare_testkit::proxy::Proxy;

fn patient() -> RetryPolicy {
    RetryPolicy::default()
        .initial_delay(Duration::from_millis(1))
        .max_attempts(Some(5))
}

#[tokio::test]
async fn retries_stop_at_a_401_on_a_stream() {
    bounded(async {
        let server = start().await;
        let proxy = Proxy::start(server.addr).await;
        let (states, observed) = nagare::client::states();
        let client = Client::new(proxy.url())
            .with_retry(patient())
            .with_states(states);
        let payload = chatter::EchoerPayload {
            token: "not-a-jwt".into(),
        };
        match client.echoer(&payload).await {
            Err(Error::Unauthorized(m)) => assert_eq!(m, "invalid token"),
            other => panic!("expected unauthorized, got {:?}", other.err()),
        }
        assert_eq!(proxy.accepted(), 1);
        assert!(matches!(
            &*observed.borrow(),
            ConnectionState::Closed { reason } if reason.contains("401")
        ));
    })
    .await;
}

#[tokio::test]
async fn retries_stop_at_a_401_on_a_unary_call() {
    bounded(async {
        let server = start().await;
        let proxy = Proxy::start(server.addr).await;
        let client = Client::new(proxy.url()).with_retry(patient());
        let bad = chatter::LoginPayload {
            user: "goa".into(),
            password: "wrong".into(),
        };
        assert!(matches!(
            client.login(&bad).await,
            Err(Error::Unauthorized(_))
        ));
        assert_eq!(proxy.accepted(), 1);
    })
    .await;
}
