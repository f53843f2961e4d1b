//! The guide's four endpoints end to end, over real sockets, with the generated
//! client.

mod common;

use std::collections::HashSet;

use common::{bounded, start, wait_for_metric};
use guide::{chat, monitor};
use nagare::{ClientError, StreamError};

fn echo_msg(s: &str) -> chat::EchoStreamingPayload {
    chat::EchoStreamingPayload { message: s.into() }
}

#[tokio::test]
async fn echo_returns_each_message_then_ends_when_the_client_ends() {
    bounded(async {
        let server = start().await;
        let client = chat::client::Client::new(&server.base);
        let mut stream = client.echo().await.expect("dial echo");
        for word in ["one", "two", "three"] {
            stream.send(&echo_msg(word)).await.expect("send");
            let back = stream.recv().await.expect("recv").expect("a result");
            assert_eq!(back.message, word);
        }
        // End of stream from the client: the server finishes and closes with 1000.
        stream.close().await.expect("close");
        assert!(stream.recv().await.expect("clean end").is_none());
    })
    .await;
}

#[tokio::test]
async fn an_invalid_message_is_refused_before_it_is_sent_and_the_stream_goes_on() {
    bounded(async {
        let server = start().await;
        let client = chat::client::Client::new(&server.base);
        let mut stream = client.echo().await.expect("dial echo");
        // `message` has min_length(1): refused here, not closed by the server.
        match stream.send(&echo_msg("")).await {
            Err(StreamError::InvalidMessage(e)) => {
                assert!(e.to_string().contains("message"), "{e}")
            }
            other => panic!("a validation error expected, got {other:?}"),
        }
        stream.send(&echo_msg("still open")).await.expect("send");
        let back = stream.recv().await.expect("recv").expect("a result");
        assert_eq!(back.message, "still open");
    })
    .await;
}

#[tokio::test]
async fn analytics_ends_when_the_server_ends() {
    bounded(async {
        let server = start().await;
        let client = monitor::client::Client::new(&server.base);
        let payload = monitor::AnalyticsPayload {
            view: None,
            interval_ms: 10,
            rounds: Some(2),
        };
        let mut stream = client.analytics(&payload).await.expect("dial analytics");
        let mut count = 0;
        while let Some(update) = stream.recv().await.expect("update") {
            assert!(!update.metric.is_empty());
            count += 1;
        }
        // Two rounds of the four metrics, then close 1000 from the server.
        assert_eq!(count, 8);
    })
    .await;
}

#[tokio::test]
async fn echo_sends_and_receives_concurrently_from_two_tasks() {
    bounded(async {
        let server = start().await;
        let client = chat::client::Client::new(&server.base);
        let (mut tx, mut rx) = client.echo().await.expect("dial echo").split();
        const N: usize = 2000;
        // More messages than both queues hold, so sending blocks unless the
        // receiver drains at the same time.
        let sender = tokio::spawn(async move {
            for i in 0..N {
                tx.send(&echo_msg(&i.to_string())).await.expect("send");
            }
            tx.close().await.expect("close");
        });
        let mut expected = 0;
        while let Some(msg) = rx.recv().await.expect("recv") {
            assert_eq!(msg.message, expected.to_string());
            expected += 1;
        }
        assert_eq!(expected, N);
        sender.await.expect("sender task");
    })
    .await;
}

#[tokio::test]
async fn hundred_clients_each_get_exactly_their_own_messages_in_order() {
    bounded(async {
        let server = start().await;
        let mut tasks = Vec::new();
        for c in 0..100 {
            let base = server.base.clone();
            tasks.push(tokio::spawn(async move {
                let client = chat::client::Client::new(&base);
                let mut stream = client.echo().await.expect("dial echo");
                for i in 0..20 {
                    stream
                        .send(&echo_msg(&format!("{c}:{i}")))
                        .await
                        .expect("send");
                }
                stream.close().await.expect("close");
                let mut got = Vec::new();
                while let Some(m) = stream.recv().await.expect("recv") {
                    got.push(m.message);
                }
                let want: Vec<String> = (0..20).map(|i| format!("{c}:{i}")).collect();
                assert_eq!(got, want, "client {c}");
            }));
        }
        for t in tasks {
            t.await.expect("client task");
        }
    })
    .await;
}

/// Fields present in one analytics update for `view`, read with a plain client so
/// that nothing fills in absent attributes.
async fn raw_fields(base: &str, view: &str) -> (String, HashSet<String>) {
    use futures_util::StreamExt;
    let url = format!(
        "{}/analytics?view={view}&interval_ms=10&rounds=1",
        base.replace("http", "ws")
    );
    let (mut ws, response) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let header = response
        .headers()
        .get("goa-view")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let msg = ws.next().await.expect("a message").expect("no error");
    let value: serde_json::Value =
        serde_json::from_str(msg.to_text().expect("text")).expect("json");
    let fields = value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    (header, fields)
}

#[tokio::test]
async fn each_analytics_view_carries_exactly_its_fields() {
    bounded(async {
        let server = start().await;
        let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
        let cases = [
            ("summary", set(&["metric", "value"])),
            ("detailed", set(&["timestamp", "metric", "value", "change"])),
            (
                "full",
                set(&["timestamp", "metric", "value", "change", "metadata"]),
            ),
            (
                "default",
                set(&["timestamp", "metric", "value", "change", "metadata"]),
            ),
        ];
        for (view, want) in cases {
            let (header, fields) = raw_fields(&server.base, view).await;
            assert_eq!(header, view);
            assert_eq!(fields, want, "view {view}");
        }
        // The generated client validates with the view from the 101 and leaves the
        // attributes outside it at their zero value.
        let client = monitor::client::Client::new(&server.base);
        let payload = monitor::AnalyticsPayload {
            view: Some("summary".into()),
            interval_ms: 10,
            rounds: Some(1),
        };
        let mut stream = client.analytics(&payload).await.expect("dial");
        assert_eq!(stream.view(), Some("summary"));
        let update = stream.recv().await.expect("recv").expect("update");
        assert!(!update.metric.is_empty());
        assert_eq!(update.timestamp, "");
        assert_eq!(update.metadata, None);
    })
    .await;
}

#[tokio::test]
async fn bad_payload_is_refused_before_the_upgrade_with_goa_errors() {
    bounded(async {
        let server = start().await;
        let client = monitor::client::Client::new(&server.base);
        // The generated client refuses to send an invalid payload...
        let bad = monitor::AnalyticsPayload {
            view: None,
            interval_ms: 5,
            rounds: None,
        };
        assert!(matches!(
            client.analytics(&bad).await,
            Err(monitor::Error::Client(ClientError::InvalidPayload(e))) if e.name == "invalid_range"
        ));
        // ...and the server refuses one sent by anybody else.
        let cases = [
            ("view=bogus", "invalid_enum_value", "value of view must be one of \"default\", \"summary\", \"detailed\", \"full\" but got value \"bogus\""),
            ("interval_ms=soon", "invalid_field_type", "invalid value \"soon\" for \"interval_ms\", must be a integer"),
            ("interval_ms=5", "invalid_range", "interval_ms must be greater or equal than 10 but got value 5"),
        ];
        for (query, name, message) in cases {
            let url = format!("{}/analytics?{query}", server.base.replace("http", "ws"));
            match tokio_tungstenite::connect_async(url).await {
                Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                    assert_eq!(res.status(), 400);
                    let body: serde_json::Value =
                        serde_json::from_slice(res.body().as_deref().unwrap_or_default())
                            .expect("json body");
                    assert_eq!(body["name"], name);
                    assert_eq!(body["message"], message);
                    assert_eq!(body["fault"], false);
                    assert_eq!(body["id"].as_str().map(str::len), Some(8));
                }
                other => panic!("{query}: expected HTTP 400, got {other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn subscribers_see_messages_from_listener_and_echo() {
    bounded(async {
        let server = start().await;
        let chat = chat::client::Client::new(&server.base);
        let mut sub_a = chat.subscribe().await.expect("subscribe a");
        let mut sub_b = chat.subscribe().await.expect("subscribe b");
        // Both subscriptions are registered once the monitor counts them.
        wait_for_metric(&server.base, "subscribers", 2.0).await;

        let mut listener = chat.listener().await.expect("listener");
        listener
            .send(&chat::ListenerStreamingPayload {
                message: "heard".into(),
            })
            .await
            .expect("send");
        listener.close().await.expect("listener ends cleanly");
        let mut echo = chat.echo().await.expect("echo");
        echo.send(&echo_msg("said")).await.expect("send");
        echo.recv().await.expect("echoed");

        for sub in [&mut sub_a, &mut sub_b] {
            let first = sub.recv().await.expect("event").expect("some");
            assert_eq!(
                (first.message.as_str(), first.action.as_str()),
                ("heard", "listener")
            );
            assert!(chrono::DateTime::parse_from_rfc3339(&first.timestamp).is_ok());
            let second = sub.recv().await.expect("event").expect("some");
            assert_eq!(
                (second.message.as_str(), second.action.as_str()),
                ("said", "echo")
            );
        }
    })
    .await;
}

#[tokio::test]
async fn listener_survives_a_go_style_client_that_drops_tcp_after_null() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    bounded(async {
        let server = start().await;
        let url = format!("{}/listen", server.base.replace("http", "ws"));
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        for i in 0..5 {
            ws.send(Message::text(format!("{{\"message\":\"m{i}\"}}\n")))
                .await
                .expect("send");
        }
        ws.send(Message::text("null\n")).await.expect("send null");
        // What Go's client does after `null`: close TCP without a close frame.
        drop(ws);
        // Every message was still processed.
        wait_for_metric(&server.base, "listener_messages_total", 5.0).await;
    })
    .await;
}

#[tokio::test]
async fn a_subscriber_that_vanishes_is_cleaned_up() {
    bounded(async {
        let server = start().await;
        let url = format!("{}/subscribe", server.base.replace("http", "ws"));
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        wait_for_metric(&server.base, "subscribers", 1.0).await;
        // Gone without a close frame, as a crashed client or a cut network.
        drop(ws);
        // The service method noticed and returned: its broadcast receiver is gone.
        common::wait_for_metric_where(&server.base, "subscribers", |v| v == 0.0).await;
    })
    .await;
}
