//! Resumable subscriptions through faults: a TCP proxy between client and server
//! cuts, refuses and freezes connections; servers are shut down and started
//! again on the same port. Every event must reach the subscriber once and in
//! order, or the subscriber must be told why not.

mod common;

use std::time::Duration;

use common::{bounded, fast_reconnect, publish, publisher, start, start_with_guide};
use guide::chat;
use nagare::{ConnectionState, MemoryBroker, ResumePoint, RetryPolicy, StreamError};
use nagare_testkit::proxy::Proxy;
use tokio::sync::watch;

/// The next event's message; fails on an error or the end of the stream.
async fn next_message(events: &mut chat::SubscribeClientStream) -> String {
    match events.recv().await {
        Ok(Some(event)) => event.message,
        Ok(None) => panic!("the stream ended"),
        Err(e) => panic!("the stream failed: {e}"),
    }
}

/// Waits until the server counts `n` subscribers: their replay cursors exist, so
/// nothing published from now on can pass them by.
async fn subscribed(base: &str, n: f64) {
    common::wait_for_metric(base, "subscribers", n).await;
}

/// Waits for a state that satisfies `ok`.
async fn state(
    rx: &mut watch::Receiver<ConnectionState>,
    ok: impl Fn(&ConnectionState) -> bool,
) -> ConnectionState {
    rx.wait_for(|s| ok(s)).await.expect("state channel").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_survives_twenty_cuts_during_ten_thousand_events() {
    const EVENTS: u64 = 10_000;
    const CUTS: u64 = 20;
    // The publisher stays at most this far ahead of the subscriber, well inside
    // the replay log (1024), so every cut can be resumed.
    const WINDOW: u64 = 256;
    bounded(async {
        let server = start().await;
        let proxy = Proxy::start(server.addr).await;
        let client = chat::client::Client::new(proxy.url()).with_reconnect(fast_reconnect());
        let mut events = client.subscribe().await.expect("subscribe");
        subscribed(&server.base, 1.0).await;

        let (progress, mut seen) = watch::channel(0u64);
        let mut listener = publisher(&server.base).await;
        let publishing = tokio::spawn(async move {
            for i in 1..=EVENTS {
                if i > WINDOW {
                    seen.wait_for(|n| n + WINDOW >= i)
                        .await
                        .expect("subscriber");
                }
                publish(&mut listener, i).await;
            }
            // Only a new connection can bring this one after the last cut.
            publish(&mut listener, "end").await;
            listener.close().await.expect("listener ends cleanly");
        });

        let mut cuts = 0;
        for i in 1..=EVENTS {
            assert_eq!(next_message(&mut events).await, i.to_string());
            progress.send_replace(i);
            // Cut a connection only once the previous cut was recovered from, so
            // that each cut hits a live connection.
            if cuts < CUTS && i >= 250 + 450 * cuts && events.reconnects() == cuts {
                proxy.cut();
                cuts += 1;
            }
        }
        assert_eq!(next_message(&mut events).await, "end");
        publishing.await.expect("publisher");
        assert_eq!(cuts, CUTS);
        assert_eq!(events.reconnects(), CUTS);
        assert_eq!(events.position().map(|p| p.seq), Some(EVENTS + 1));
        assert!(proxy.accepted() > CUTS);
    })
    .await;
}

#[tokio::test]
async fn a_server_restart_in_the_middle_of_a_stream_is_recovered() {
    bounded(async {
        // The broker outlives the server, as Redis would.
        let broker = MemoryBroker::new().shared();
        let first = start_with_guide(
            guide::service::Guide::new(chat::Rooms::new(broker.clone())),
            None,
        )
        .await;
        let client = chat::client::Client::new(&first.base).with_reconnect(fast_reconnect());
        let mut events = client.subscribe().await.expect("subscribe");
        let mut states = events.states();
        subscribed(&first.base, 1.0).await;
        let mut listener = publisher(&first.base).await;
        for i in 1..=100 {
            publish(&mut listener, i).await;
        }
        for i in 1..=100 {
            assert_eq!(next_message(&mut events).await, i.to_string());
        }

        // Stop the server: the subscriber is closed with 1001 and keeps trying.
        drop(listener);
        let addr = first.addr;
        first.stop().await;
        let receiving = tokio::spawn(async move {
            for i in 101..=200 {
                assert_eq!(next_message(&mut events).await, i.to_string());
            }
            events
        });
        // Reconnections are refused while no server listens.
        state(
            &mut states,
            |s| matches!(s, ConnectionState::Reconnecting { attempt, .. } if *attempt >= 3),
        )
        .await;
        // Events go on while no server runs (another node publishing, say).
        let room = chat::Rooms::new(broker.clone()).subscribe();
        for i in 101..=150 {
            let event = chat::Event {
                message: i.to_string(),
                action: chat::EventAction::Listener,
                timestamp: "2026-11-28T00:00:00Z".into(),
            };
            room.publish(&event).await.expect("publish");
        }
        let second = start_with_guide(
            guide::service::Guide::new(chat::Rooms::new(broker)),
            Some(addr),
        )
        .await;
        let mut listener = publisher(&second.base).await;
        for i in 151..=200 {
            publish(&mut listener, i).await;
        }
        let events = receiving.await.expect("receiver task");
        assert_eq!(
            *states.borrow(),
            ConnectionState::Connected {
                resumed_after: Some(100)
            }
        );
        assert_eq!(events.reconnects(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_restarted_server_that_lost_the_room_tells_the_client_and_goes_on() {
    bounded(async {
        let first = start_with_guide(memory_guide(), None).await;
        let client = chat::client::Client::new(&first.base).with_reconnect(fast_reconnect());
        let mut events = client.subscribe().await.expect("subscribe");
        let mut states = events.states();
        subscribed(&first.base, 1.0).await;
        let mut listener = publisher(&first.base).await;
        publish(&mut listener, "before").await;
        assert_eq!(next_message(&mut events).await, "before");
        let old_epoch = events.position().expect("numbered").epoch.clone();
        drop(listener);
        let addr = first.addr;
        first.stop().await;
        // A new process: a new room, in a new epoch, which already holds a
        // message when the client comes back.
        let second = start_with_guide(memory_guide(), Some(addr)).await;
        let mut listener = publisher(&second.base).await;
        publish(&mut listener, "while away").await;
        common::wait_for_metric(&second.base, "messages_total", 1.0).await;
        // The stream goes on from the oldest message of the new epoch...
        assert_eq!(next_message(&mut events).await, "while away");
        publish(&mut listener, "after").await;
        assert_eq!(next_message(&mut events).await, "after");
        // ... and says what happened.
        let restarted = state(&mut states, |s| {
            matches!(s, ConnectionState::Restarted { .. })
        })
        .await;
        let ConnectionState::Restarted { previous, now } = restarted else {
            unreachable!()
        };
        assert_eq!(
            previous,
            ResumePoint {
                epoch: old_epoch.clone(),
                seq: 1
            }
        );
        assert_ne!(now.epoch, old_epoch);
        assert_eq!(now.seq, 0);
        assert_eq!(events.position().map(|p| p.seq), Some(2));
        assert_eq!((events.restarts(), events.reconnects()), (1, 1));
    })
    .await;
}

/// A guide with a room of its own, in memory.
fn memory_guide() -> guide::service::Guide {
    guide::service::Guide::new(chat::Rooms::new(MemoryBroker::new().shared()))
}

#[tokio::test]
async fn a_client_too_far_behind_is_told_so() {
    bounded(async {
        let broker = MemoryBroker::new().shared();
        let server = start_with_guide(
            guide::service::Guide::new(chat::Rooms::new(broker.clone())),
            None,
        )
        .await;
        let proxy = Proxy::start(server.addr).await;
        let client = chat::client::Client::new(proxy.url()).with_reconnect(fast_reconnect());
        let mut events = client.subscribe().await.expect("subscribe");
        let mut states = events.states();
        subscribed(&server.base, 1.0).await;
        let mut listener = publisher(&server.base).await;
        publish(&mut listener, 1).await;
        assert_eq!(next_message(&mut events).await, "1");

        // The subscriber is away (its reconnections refused) while 20 events are
        // published: the log keeps the last 8.
        proxy.refuse(true);
        proxy.cut();
        let recv =
            tokio::spawn(
                async move { (events.recv().await.map(|e| e.map(|e| e.message)), events) },
            );
        state(
            &mut states,
            |s| matches!(s, ConnectionState::Reconnecting { attempt, .. } if *attempt >= 3),
        )
        .await;
        // More events than the room keeps are published.
        let room = chat::Rooms::new(broker).subscribe();
        let kept = chat::SUBSCRIBE_HISTORY as u64;
        for i in 2..=kept + 13 {
            let event = chat::Event {
                message: i.to_string(),
                action: chat::EventAction::Listener,
                timestamp: "2026-11-28T00:00:00Z".into(),
            };
            room.publish(&event).await.expect("publish");
        }
        proxy.refuse(false);
        let (outcome, mut events) = recv.await.expect("receiver task");
        match outcome {
            Err(StreamError::TooFarBehind(why)) => {
                assert_eq!(why, "message 2 is gone; the oldest kept is 14")
            }
            other => panic!("expected too far behind, got {other:?}"),
        }
        assert!(matches!(
            &*states.borrow(),
            ConnectionState::Closed { reason } if reason.contains("too far behind")
        ));
        // Over, and it keeps saying why.
        assert!(matches!(
            events.recv().await,
            Err(StreamError::TooFarBehind(why)) if why == "message 2 is gone; the oldest kept is 14"
        ));
    })
    .await;
}

#[tokio::test]
async fn a_frozen_connection_is_found_dead_by_client_pings_and_resumed() {
    bounded(async {
        let server = start().await;
        let proxy = Proxy::start(server.addr).await;
        let config = nagare::ConnConfig {
            ping_interval: Some(Duration::from_millis(100)),
            pong_timeout: Duration::from_millis(100),
            ..Default::default()
        };
        // Slow enough a first retry that the test sees the reconnecting state.
        let reconnect = fast_reconnect().initial_delay(Duration::from_millis(200));
        let client = chat::client::Client::new(proxy.url())
            .with_config(config)
            .with_reconnect(reconnect);
        let mut events = client.subscribe().await.expect("subscribe");
        let mut states = events.states();
        subscribed(&server.base, 1.0).await;
        let mut listener = publisher(&server.base).await;
        publish(&mut listener, "a").await;
        assert_eq!(next_message(&mut events).await, "a");

        // The connection stays open but nothing crosses it any more.
        proxy.freeze();
        let receiving = tokio::spawn(async move {
            let b = next_message(&mut events).await;
            let c = next_message(&mut events).await;
            (b, c, events)
        });
        let lost = state(&mut states, |s| matches!(s, ConnectionState::Reconnecting { .. })).await;
        assert!(
            matches!(&lost, ConnectionState::Reconnecting { error, .. } if error.contains("stopped answering pings")),
            "{lost:?}"
        );
        publish(&mut listener, "b").await;
        publish(&mut listener, "c").await;
        let (b, c, events) = receiving.await.expect("receiver task");
        assert_eq!((b.as_str(), c.as_str()), ("b", "c"));
        assert_eq!(events.reconnects(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_plain_goa_subscriber_gets_unnumbered_events() {
    bounded(async {
        use futures_util::StreamExt;
        let server = start().await;
        let url = format!("ws://{}/subscribe", server.addr);
        let (mut ws, response) = tokio_tungstenite::connect_async(url)
            .await
            .expect("plain upgrade");
        assert!(response.headers().get("sec-websocket-protocol").is_none());
        subscribed(&server.base, 1.0).await;
        let mut listener = publisher(&server.base).await;
        publish(&mut listener, "plain").await;
        let frame = ws.next().await.expect("a frame").expect("ok");
        let event: serde_json::Value =
            serde_json::from_str(frame.to_text().expect("text")).expect("json");
        assert_eq!(event["message"], "plain");
        assert!(event.get("seq").is_none());
    })
    .await;
}

#[tokio::test]
async fn a_503_is_retried_until_the_attempts_run_out() {
    bounded(async {
        use nagare::axum;
        // A server in maintenance: every request gets 503.
        let app = axum::Router::new()
            .fallback(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "maintenance") });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let proxy = Proxy::start(addr).await;
        let policy = RetryPolicy::default()
            .initial_delay(Duration::from_millis(1))
            .max_attempts(Some(3));
        let client = chat::client::Client::new(proxy.url()).with_retry(policy);
        match client.echo().await {
            Err(chat::Error::Client(e)) => {
                assert_eq!(e.kind(), nagare::ErrorKind::ResourceExhausted, "{e}")
            }
            other => panic!("expected a refusal, got {:?}", other.err()),
        }
        assert_eq!(proxy.accepted(), 3);
    })
    .await;
}

#[tokio::test]
async fn cancelling_during_the_backoff_returns_at_once() {
    bounded(async {
        // A port nobody listens on: every attempt is refused.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = closed.local_addr().expect("addr");
        drop(closed);
        let cancel = tokio_util::sync::CancellationToken::new();
        let policy = RetryPolicy::default()
            .jitter(false)
            .initial_delay(Duration::from_secs(60))
            .forever()
            .cancel_on(cancel.clone());
        let (states, mut observed) = nagare::client::states();
        let client = chat::client::Client::new(format!("http://{addr}"))
            .with_retry(policy)
            .with_states(states);
        let call = tokio::spawn(async move { client.echo().await.err() });
        let waiting = state(&mut observed, |s| {
            matches!(s, ConnectionState::Reconnecting { .. })
        })
        .await;
        assert!(matches!(
            waiting,
            ConnectionState::Reconnecting { attempt: 2, delay, .. } if delay == Duration::from_secs(60)
        ));
        cancel.cancel();
        // Well before the 60 s wait would end.
        let outcome = tokio::time::timeout(Duration::from_secs(5), call)
            .await
            .expect("the call returns once cancelled")
            .expect("task");
        assert!(
            matches!(
                outcome,
                Some(chat::Error::Client(nagare::ClientError::Cancelled))
            ),
            "{outcome:?}"
        );
        assert_eq!(
            *observed.borrow(),
            ConnectionState::Closed {
                reason: "cancelled".into()
            }
        );
    })
    .await;
}
