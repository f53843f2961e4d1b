//! Chatter tested as a user tests their own service, with `nagare::testing`:
//! login, a secured stream and history through the generated client bound to
//! the router in this process, and `summary` driven directly.

use chatter::auth::AuthConfig;
use chatter::chatter::{self as api, client::Client, Service as _};
use chatter::service::Chatter;
use nagare::testing::{client_stream_with_result, within, TestServer};

fn chatter() -> Chatter {
    Chatter::new(
        AuthConfig::with_key("the in-process tests' key, 32 bytes or more"),
        api::Rooms::new(nagare::MemoryBroker::new().shared()),
    )
}

#[tokio::test]
async fn login_echo_and_history_in_process() {
    let server = TestServer::new(chatter().router(nagare::ServerOptions::new()));
    let client = Client::from_dialer(server.dialer());
    let token = within(
        "login",
        client.login(&api::LoginPayload {
            user: "goa".into(),
            password: "rocks".into(),
        }),
    )
    .await
    .expect("login");
    let mut echoer = within(
        "the echoer",
        client.echoer(&api::EchoerPayload {
            token: token.clone(),
        }),
    )
    .await
    .expect("echoer");
    echoer.send(&"hello".to_owned()).await.expect("send");
    assert_eq!(
        within("the echo", echoer.recv())
            .await
            .expect("echo")
            .as_deref(),
        Some("hello")
    );
    echoer.close().await.expect("closed");
    let mut history = within(
        "history",
        client.history(&api::HistoryPayload {
            token: token.clone(),
            view: Some("tiny".into()),
        }),
    )
    .await
    .expect("history");
    let first = within("a summary", history.recv()).await.expect("recv");
    assert_eq!(first.map(|s| s.message).as_deref(), Some("hello"));
    // A bad password is the designed error, as over the network.
    let refused = within(
        "a refused login",
        client.login(&api::LoginPayload {
            user: "goa".into(),
            password: "wrong".into(),
        }),
    )
    .await;
    assert!(
        matches!(refused, Err(api::Error::Unauthorized(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn summary_driven_with_scripted_messages() {
    let service = chatter();
    let payload = api::SummaryPayload {
        token: String::new(),
    };
    let (server, mut client) = client_stream_with_result::<String, Vec<api::ChatSummary>>().await;
    let method = tokio::spawn(async move { service.summary(payload, server).await });
    for m in ["a", "bb"] {
        client.send(&m.to_owned()).await.expect("send");
    }
    let summary = within("the summary", client.close_and_recv())
        .await
        .expect("a summary");
    let lengths: Vec<Option<i64>> = summary.iter().map(|s| s.length).collect();
    assert_eq!(lengths, [Some(1), Some(2)]);
    assert!(within("the method", method).await.expect("joined").is_ok());
}
