//! Two `chatter` server processes on one Redis (started by each test on a free
//! loopback port): who is subscribed is seen from either node, a subscriber
//! that leaves is gone at once, and the subscribers of a node killed with
//! SIGKILL expire after the presence TTL; an echo is a receipt, even while
//! Redis is away.

mod common;

use std::time::{Duration, Instant};

use ::chatter::chatter::{self, client::Client};
use common::{bounded, login, KEY};
use nagare_testkit::process::ServerProcess;
use nagare_testkit::redis::RedisServer;

/// A chatter node on `redis`, members expiring 2 s after their node stops
/// refreshing them.
async fn node(redis: &RedisServer) -> ServerProcess {
    node_with(redis, &[]).await
}

/// [`node`], with `flags`.
async fn node_with(redis: &RedisServer, flags: &[&str]) -> ServerProcess {
    let url = redis.url();
    let mut args = vec![
        "--addr",
        "127.0.0.1:0",
        "--jwt-key",
        KEY,
        "--redis",
        &url,
        "--presence-ttl",
        "2s",
    ];
    args.extend_from_slice(flags);
    ServerProcess::start(env!("CARGO_BIN_EXE_chatter"), &args).await
}

/// The names `who` lists on `base`, sorted.
async fn who(base: &str, token: &str) -> Vec<Option<String>> {
    let mut names: Vec<_> = Client::new(base)
        .who(&chatter::WhoPayload {
            token: token.into(),
            after: None,
            limit: 1000,
        })
        .await
        .expect("who")
        .into_iter()
        .map(|s| s.name)
        .collect();
    names.sort();
    names
}

/// Asks `who` until it lists `expected`, up to `within`: presence changes
/// travel through Redis, and an expiry has no event a test could await.
async fn until_who(base: &str, token: &str, expected: &[Option<&str>], within: Duration) {
    let expected: Vec<Option<String>> = expected.iter().map(|n| n.map(str::to_owned)).collect();
    let deadline = Instant::now() + within;
    loop {
        let names = who(base, token).await;
        if names == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "who lists {names:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn subscribe(base: &str, token: &str, name: &str) -> chatter::SubscribeClientStream {
    Client::new(base)
        .subscribe(&chatter::SubscribePayload {
            token: token.into(),
            name: Some(name.into()),
        })
        .await
        .expect("subscribe")
}

#[tokio::test]
async fn presence_is_shared_by_nodes_and_a_killed_nodes_subscribers_expire() {
    bounded(async {
        let redis = RedisServer::start().await;
        let a = node(&redis).await;
        let b = node(&redis).await;
        let token = login(&a.base()).await;
        assert!(who(&b.base(), &token).await.is_empty());

        let _ann = subscribe(&a.base(), &token, "ann").await;
        let mut bob = subscribe(&b.base(), &token, "bob").await;
        // Each is present as soon as its node runs its subscription, and
        // every node sees both.
        let both = [Some("ann"), Some("bob")];
        until_who(&a.base(), &token, &both, Duration::from_secs(2)).await;
        until_who(&b.base(), &token, &both, Duration::from_secs(2)).await;

        // A graceful leave shows within a second.
        bob.close().await.expect("close");
        until_who(&a.base(), &token, &[Some("ann")], Duration::from_secs(1)).await;

        // Node a dies without a word: ann expires after the 2 s TTL.
        let killed = Instant::now();
        a.kill().await;
        until_who(&b.base(), &token, &[], Duration::from_secs(5)).await;
        assert!(
            killed.elapsed() >= Duration::from_secs(1),
            "{:?}",
            killed.elapsed()
        );
    })
    .await;
}

#[tokio::test]
async fn an_echo_is_never_sent_for_a_message_the_room_did_not_take() {
    bounded(async {
        let mut redis = RedisServer::start().await;
        let server = node_with(&redis, &["--publish-timeout", "500ms"]).await;
        let base = server.base();
        let token = login(&base).await;
        let client = Client::new(&base);
        let mut echoer = client
            .echoer(&chatter::EchoerPayload {
                token: token.clone(),
            })
            .await
            .expect("echoer");
        echoer.send(&"kept".to_owned()).await.expect("send");
        assert_eq!(echoer.recv().await.expect("echo").as_deref(), Some("kept"));
        redis.stop().await;
        // Redis is away past the publish's deadline: no echo, a 1013.
        echoer.send(&"lost".to_owned()).await.expect("send");
        match echoer.recv().await {
            Err(nagare::StreamError::Closed { code, reason }) => {
                assert_eq!(code, 1013, "{reason}");
            }
            other => panic!("1013 and no echo expected, got {other:?}"),
        }
        redis.start_again().await;
        // What was echoed is in the history; what was not, is not. (Asked
        // again while the server has not found Redis back yet: 1013.)
        let messages = loop {
            let Ok(mut history) = client
                .history(&chatter::HistoryPayload {
                    token: token.clone(),
                    view: None,
                })
                .await
            else {
                continue;
            };
            let mut messages = Vec::new();
            let ended = loop {
                match history.recv().await {
                    Ok(Some(m)) => messages.push(m.message),
                    Ok(None) => break true,
                    Err(_) => break false,
                }
            };
            if ended {
                break messages;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(messages, ["kept"]);
    })
    .await;
}
