//! Several `guide` server processes on one Redis (Debian's `redis-server`,
//! started by each test on a free loopback port), killed and started again as
//! an operator's would be: subscribers on one node get what is published on
//! another, once and in order, and resume on another node when theirs dies.

mod common;

use std::net::SocketAddr;
use std::process::Stdio;

use common::{bounded, fast_reconnect, publish, publisher};
use guide::chat;
use nagare_testkit::process::ServerProcess;
use nagare_testkit::proxy::Proxy;
use nagare_testkit::redis::RedisServer;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Starts `guide` on `addr` (a free port when `None`), on Redis at `redis`
/// (in memory when `None`).
async fn start_node(redis: Option<&str>, addr: Option<SocketAddr>) -> ServerProcess {
    let addr = addr.map_or_else(|| "127.0.0.1:0".to_owned(), |a| a.to_string());
    let mut args = vec!["--addr", &addr];
    if let Some(url) = redis {
        args.extend(["--redis", url]);
    }
    ServerProcess::start(env!("CARGO_BIN_EXE_guide"), &args).await
}

/// Receives events `from..=to` in a task of their own, once the stream is
/// following the room (connected, its position read): anything published
/// from the return on reaches it.
async fn receive(
    mut events: chat::SubscribeClientStream,
    from: u64,
    to: u64,
) -> tokio::task::JoinHandle<chat::SubscribeClientStream> {
    let mut states = events.states();
    let receiving = tokio::spawn(async move {
        for i in from..=to {
            assert_eq!(next(&mut events).await, i);
        }
        events
    });
    states
        .wait_for(|s| matches!(s, nagare::ConnectionState::Connected { .. }))
        .await
        .expect("connected");
    receiving
}

async fn next(events: &mut chat::SubscribeClientStream) -> u64 {
    match events.recv().await {
        Ok(Some(e)) => e.message.parse().expect("a number"),
        other => panic!("an event expected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_subscriber_on_one_node_gets_what_another_node_publishes_once_and_in_order() {
    bounded(async {
        let redis = RedisServer::start().await;
        let a = start_node(Some(&redis.url()), None).await;
        let b = start_node(Some(&redis.url()), None).await;
        let events = chat::client::Client::new(a.base())
            .subscribe()
            .await
            .expect("subscribe");
        let receiving = receive(events, 1, 10_000).await;
        let mut listener = publisher(&b.base()).await;
        for i in 1..=10_000 {
            publish(&mut listener, i).await;
        }
        let events = receiving.await.expect("every event, once, in order");
        let position = events.position().expect("numbered").seq;
        assert_eq!(position, 10_000);
    })
    .await;
}

#[tokio::test]
async fn a_subscriber_whose_node_is_killed_resumes_on_another_without_loss_through_20_cuts() {
    bounded(async {
        let redis = RedisServer::start().await;
        let a = start_node(Some(&redis.url()), None).await;
        let b = start_node(Some(&redis.url()), None).await;
        let (a_addr, b_addr) = (a.addr(), b.addr());
        let proxy = Proxy::start(a.addr()).await;
        let client = chat::client::Client::new(proxy.url()).with_reconnect(fast_reconnect());
        let events = client.subscribe().await.expect("subscribe");
        let receiving = receive(events, 1, 100).await;
        let mut listener = publisher(&b.base()).await;
        for i in 1..=100 {
            publish(&mut listener, i).await;
        }
        let mut events = receiving.await.expect("receiver");

        // Node a dies; the proxy sends the reconnection to node b, which
        // replays from Redis what a never delivered.
        a.kill().await;
        proxy.set_upstream(b_addr);
        for i in 101..=200 {
            publish(&mut listener, i).await;
        }
        for i in 101..=200 {
            assert_eq!(next(&mut events).await, i);
        }
        assert_eq!(events.reconnects(), 1);

        // A new node a on the same port; the stream is cut 20 times,
        // reconnecting to a and b in turn, while node b publishes.
        let a = start_node(Some(&redis.url()), Some(a_addr)).await;
        // The publisher keeps within 256 events of the subscriber: the room
        // keeps 1024, and a subscriber further behind is told it is too far
        // behind (which `a_client_too_far_behind_is_told_so` tests).
        let (progress, mut seen) = tokio::sync::watch::channel(200u64);
        let publishing = tokio::spawn(async move {
            for i in 201..=5_000 {
                seen.wait_for(|s| s + 256 >= i).await.expect("receiver");
                publish(&mut listener, i).await;
            }
            listener
        });
        let mut cuts = 0;
        for i in 201..=5_000 {
            assert_eq!(next(&mut events).await, i);
            progress.send_replace(i);
            if cuts < 20 && i >= 300 + 200 * cuts && events.reconnects() == cuts + 1 {
                proxy.set_upstream(if cuts % 2 == 0 { a.addr() } else { b_addr });
                proxy.cut();
                cuts += 1;
            }
        }
        drop(publishing.await.expect("publisher"));
        assert_eq!(cuts, 20);
        assert_eq!(events.reconnects(), 21);
        assert_eq!(events.position().map(|p| p.seq), Some(5_000));
        assert_eq!(events.restarts(), 0);
    })
    .await;
}

/// Runs `guide-cli chat subscribe --reconnect` against `base`; its stdout and
/// stderr lines come through the channels.
fn subscribe_cli(
    base: &str,
) -> (
    Child,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_guide-cli"))
        .args(["--url", base, "chat", "subscribe", "--reconnect"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn guide-cli");
    let lines = |r: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(r).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        rx
    };
    let out = lines(Box::new(child.stdout.take().expect("stdout")));
    let err = lines(Box::new(child.stderr.take().expect("stderr")));
    (child, out, err)
}

/// The message of the next event the command-line client prints.
async fn printed(out: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> u64 {
    let line = out.recv().await.expect("guide-cli printed an event");
    let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    event["message"]
        .as_str()
        .and_then(|m| m.parse().ok())
        .expect("a numbered message")
}

/// Waits for a state line on the client's standard error containing `text`.
async fn said(err: &mut tokio::sync::mpsc::UnboundedReceiver<String>, text: &str) -> String {
    loop {
        let line = err.recv().await.expect("guide-cli said something");
        if line.contains(text) {
            return line;
        }
    }
}

#[tokio::test]
async fn the_command_line_subscriber_carries_on_through_a_restart_of_an_in_memory_server() {
    bounded(async {
        let node = start_node(None, None).await;
        let addr = node.addr();
        let (_cli, mut out, mut err) = subscribe_cli(&node.base());
        said(&mut err, "connected").await;
        let mut listener = publisher(&node.base()).await;
        for i in 1..=3 {
            publish(&mut listener, i).await;
        }
        for i in 1..=3 {
            assert_eq!(printed(&mut out).await, i);
        }
        drop(listener);
        node.kill().await;
        said(&mut err, "reconnecting").await;
        // A new process on the same port: the room starts again, empty.
        let node = start_node(None, Some(addr)).await;
        let line = said(&mut err, "the stream restarted").await;
        assert!(
            line.contains("messages after 3 of the old stream may be lost"),
            "{line}"
        );
        let mut listener = publisher(&node.base()).await;
        publish(&mut listener, 4).await;
        assert_eq!(printed(&mut out).await, 4);
    })
    .await;
}

#[tokio::test]
async fn the_command_line_subscriber_loses_nothing_through_a_restart_of_a_redis_backed_server() {
    bounded(async {
        let redis = RedisServer::start().await;
        let a = start_node(Some(&redis.url()), None).await;
        let b = start_node(Some(&redis.url()), None).await;
        let a_addr = a.addr();
        let (_cli, mut out, mut err) = subscribe_cli(&a.base());
        said(&mut err, "connected").await;
        let mut listener = publisher(&b.base()).await;
        publish(&mut listener, 1).await;
        assert_eq!(printed(&mut out).await, 1);
        a.kill().await;
        said(&mut err, "reconnecting").await;
        // Published through b while a is down.
        for i in 2..=50 {
            publish(&mut listener, i).await;
        }
        let _a = start_node(Some(&redis.url()), Some(a_addr)).await;
        for i in 2..=50 {
            assert_eq!(printed(&mut out).await, i);
        }
        said(&mut err, "resuming after message 1").await;
    })
    .await;
}

#[tokio::test]
async fn redis_losing_its_data_restarts_the_room_and_the_subscriber_is_told_and_goes_on() {
    bounded(async {
        let redis = RedisServer::start().await;
        let a = start_node(Some(&redis.url()), None).await;
        let client = chat::client::Client::new(a.base()).with_reconnect(fast_reconnect());
        let events = client.subscribe().await.expect("subscribe");
        let mut states = events.states();
        let receiving = receive(events, 1, 1).await;
        let mut listener = publisher(&a.base()).await;
        publish(&mut listener, 1).await;
        let mut events = receiving.await.expect("receiver");
        let old = events.position().expect("numbered").clone();
        redis.flush_all().await;
        publish(&mut listener, 2).await;
        // The room starts again in a new epoch: the subscriber is told
        // mid-stream and goes on with the new numbering.
        assert_eq!(next(&mut events).await, 2);
        let restarted = states
            .wait_for(|s| matches!(s, nagare::ConnectionState::Restarted { .. }))
            .await
            .expect("states")
            .clone();
        let nagare::ConnectionState::Restarted { previous, now } = restarted else {
            unreachable!()
        };
        assert_eq!(previous, old);
        assert_ne!(now.epoch, old.epoch);
        assert_eq!(events.position().map(|p| p.seq), Some(1));
        assert_eq!((events.restarts(), events.reconnects()), (1, 0));
    })
    .await;
}

#[tokio::test]
async fn while_redis_is_down_a_publisher_is_closed_with_1013_and_subscribers_stay() {
    bounded(async {
        let mut redis = RedisServer::start().await;
        let a = start_node(Some(&redis.url()), None).await;
        let events = chat::client::Client::new(a.base())
            .subscribe()
            .await
            .expect("subscribe");
        let receiving = receive(events, 1, 1).await;
        let mut listener = publisher(&a.base()).await;
        publish(&mut listener, 1).await;
        let mut events = receiving.await.expect("receiver");

        redis.stop().await;
        publish(&mut listener, 2).await;
        match listener.close().await {
            Err(nagare::StreamError::Closed { code: 1013, reason }) => {
                assert!(reason.starts_with("broker unavailable"), "{reason}")
            }
            other => panic!("close 1013 expected, got {other:?}"),
        }

        // Redis back: what is published from then on reaches the subscriber,
        // which never left; message 2 was refused, not lost in silence.
        redis.start_again().await;
        let mut accepted = false;
        while !accepted {
            let mut listener = publisher(&a.base()).await;
            publish(&mut listener, 3).await;
            accepted = listener.close().await.is_ok();
        }
        assert_eq!(next(&mut events).await, 3);
    })
    .await;
}
