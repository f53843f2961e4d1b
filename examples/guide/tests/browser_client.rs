//! The guide's generated browser client (`guide.js` with `guide.d.ts`):
//! type-checked with `tsc --strict`, and run with Node's test runner against
//! a real guide server (`js/test/guide.test.mjs`), including a resumable
//! subscription through the testkit's fault-injecting proxy, which the
//! JavaScript test drops through a control endpoint of this test.

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
