//! The guide's services tested as a user tests their own, with
//! `nagare::testing`: no port, the generated client bound to the router in
//! this process, and one method driven with a scripted client.

use guide::chat::{self, Service as _};
use guide::monitor;
use nagare::testing::{bidi, within, TestServer};

fn guide() -> guide::service::Guide {
    guide::service::Guide::new(chat::Rooms::new(nagare::MemoryBroker::new().shared()))
}

#[tokio::test]
async fn the_generated_client_talks_to_the_router_in_process() {
    let service = guide();
    let options = nagare::ServerOptions::new();
    let server = TestServer::new(service.router(options));
    let chat = chat::client::Client::from_dialer(server.dialer());
    let mut echo = within("dial /echo", chat.echo()).await.expect("echo");
    echo.send(&chat::EchoStreamingPayload {
        message: "hello".into(),
    })
    .await
    .expect("send");
    let back = within("the echo", echo.recv()).await.expect("recv");
    assert_eq!(back.map(|m| m.message).as_deref(), Some("hello"));
    // A refusal before the upgrade comes back as over the network: 400.
    let monitor = monitor::client::Client::from_dialer(server.dialer());
    let refused = within(
        "a refused upgrade",
        monitor.analytics(&monitor::AnalyticsPayload {
            view: Some("nope".into()),
            interval_ms: 10,
            rounds: Some(1),
        }),
    )
    .await
    .expect_err("an unknown view");
    assert!(refused.to_string().contains("400"), "{refused}");
}

#[tokio::test]
async fn one_method_driven_with_scripted_messages() {
    let service = guide();
    let (server, mut client) = bidi::<chat::EchoStreamingPayload, chat::EchoResult>().await;
    let method = tokio::spawn(async move { service.echo(server).await });
    for word in ["one", "two"] {
        client
            .send(&chat::EchoStreamingPayload {
                message: word.into(),
            })
            .await
            .expect("send");
        let back = within("an echo", client.recv()).await.expect("recv");
        assert_eq!(back.map(|m| m.message).as_deref(), Some(word));
    }
    client.close().await.expect("the client's end");
    assert!(within("the method", method).await.expect("joined").is_ok());
}
