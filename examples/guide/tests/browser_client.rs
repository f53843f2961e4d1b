//! The guide's generated browser client (`guide.js` with `guide.d.ts`):
//! type-checked with `tsc --strict`, and run with Node's test runner against
//! a real guide server (`js/test/guide.test.mjs`), including a resumable
//! subscription through the testkit's fault-injecting proxy, which the
//! JavaScript test drops through a control endpoint of this test; and the
//! client runtime against a scripted peer (`js/test/runtime.test.mjs`) for
//! every way a stream can end: designed errors by close reason and whole
//! over `nagare.v1`, a gap, 4010, 1011, a binary message, a new epoch.

mod common;

use guide::browser::{CLIENT_DTS, CLIENT_JS, RUNTIME_DTS, RUNTIME_JS};
use nagare_testkit::node;
use nagare_testkit::proxy::Proxy;

const FILES: node::ClientFiles<'static> = &[
    ("guide.js", CLIENT_JS),
    ("guide.d.ts", CLIENT_DTS),
    ("nagare-client.js", RUNTIME_JS),
    ("nagare-client.d.ts", RUNTIME_DTS),
];

#[test]
fn the_client_type_checks_strictly_and_refuses_mistakes() {
    match node::typecheck("guide", FILES, "guide.check.ts") {
        Ok(out) => println!("{out}"),
        Err(out) => panic!("tsc --strict refused the client or accepted a mistake:\n{out}"),
    }
}

#[tokio::test]
async fn the_client_passes_its_tests_against_a_real_guide() {
    let server = common::start().await;
    let proxy = std::sync::Arc::new(Proxy::start(server.addr).await);
    // GET /cut drops every connection through the proxy.
    let cutter = proxy.clone();
    let control = nagare::axum::Router::new().route(
        "/cut",
        nagare::axum::routing::get(move || {
            cutter.cut();
            async { "cut" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the control port");
    let control_url = format!("http://{}", listener.local_addr().expect("control addr"));
    tokio::spawn(async move { nagare::axum::serve(listener, control).await });
    let env = [
        ("NAGARE_PROXY_URL", proxy.url()),
        ("CONTROL_URL", control_url),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = node::run_tests("guide", FILES, "guide.test.mjs", &server.base, &env);
    match tokio::time::timeout(std::time::Duration::from_secs(60), run).await {
        Ok(Ok(out)) => println!("{out}"),
        Ok(Err(out)) => panic!("the client's tests failed:\n{out}"),
        Err(_) => panic!("the client's tests took over 60 s"),
    }
    server.stop().await;
}

/// A WebSocket peer that misbehaves as its path says, one script per path,
/// selecting `nagare.v1` when it is offered.
async fn scripted_peer() -> String {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::Message;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the scripted peer");
    let addr = listener.local_addr().expect("peer addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut path = String::new();
                // The signature is tungstenite's, error type included.
                #[allow(clippy::result_large_err)]
                let callback = |request: &Request, mut response: Response| {
                    path = request.uri().path().to_owned();
                    let v1 = request
                        .headers()
                        .get("sec-websocket-protocol")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.split(',').any(|p| p.trim() == "nagare.v1"));
                    if v1 {
                        response.headers_mut().insert(
                            "sec-websocket-protocol",
                            nagare::axum::http::HeaderValue::from_static("nagare.v1"),
                        );
                    }
                    Ok(response)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
                    return;
                };
                let text = |s: &str| Message::text(s.to_owned());
                let close = |code: u16, reason: &str| {
                    Message::Close(Some(CloseFrame {
                        code: CloseCode::from(code),
                        reason: reason.to_owned().into(),
                    }))
                };
                let script: Vec<Message> = match path.as_str() {
                    "/designed-close" => vec![close(4000, "rejected: too many")],
                    "/designed-frame" => vec![
                        text(r#"{"epoch":"e1","seq":0}"#),
                        text(r#"{"seq":1,"data":"one"}"#),
                        text(
                            r#"{"error":"rejected","data":{"reason":"a reason longer than a close frame could carry","code":7}}"#,
                        ),
                        close(4000, "rejected: {\"reason\":\"a reason longer"),
                    ],
                    "/gap" => vec![
                        text(r#"{"epoch":"e1","seq":0}"#),
                        text(r#"{"seq":1,"data":"one"}"#),
                        text(r#"{"seq":3,"data":"three"}"#),
                    ],
                    "/behind" => vec![close(
                        4010,
                        "too far behind: message 2 is gone; the oldest kept is 14",
                    )],
                    "/internal" => vec![close(1011, "internal error")],
                    "/binary" => vec![Message::binary(vec![0u8, 159, 146, 150])],
                    "/restart" => vec![
                        text(r#"{"epoch":"e1","seq":0}"#),
                        text(r#"{"seq":1,"data":"one"}"#),
                        text(r#"{"epoch":"e2","seq":10}"#),
                        text(r#"{"seq":11,"data":"eleven"}"#),
                        close(1000, "server closing connection"),
                    ],
                    _ => vec![close(1008, "no such script")],
                };
                for m in script {
                    if ws.send(m).await.is_err() {
                        return;
                    }
                }
                // Wait for the client's close or its reply to ours.
                use futures_util::StreamExt;
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn the_runtime_turns_every_way_a_stream_ends_into_a_typed_error() {
    let fake = scripted_peer().await;
    let files = [("nagare-client.js", RUNTIME_JS)];
    let env = [("FAKE_URL", fake.as_str())];
    let run = node::run_tests("runtime", &files, "runtime.test.mjs", &fake, &env);
    match tokio::time::timeout(std::time::Duration::from_secs(170), run).await {
        Ok(Ok(out)) => println!("{out}"),
        Ok(Err(out)) => panic!("the runtime's tests failed:\n{out}"),
        Err(_) => panic!("the runtime's tests took over 170 s"),
    }
}
