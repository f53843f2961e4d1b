//! Chatter's generated browser client (`chatter.js` with `chatter.d.ts`):
//! type-checked with `tsc --strict`, and run with Node's test runner against
//! a real chatter server (`js/test/chatter.test.mjs`): every method, and the
//! error paths before and after the upgrade.

mod common;

use chatter::browser::{CLIENT_DTS, CLIENT_JS, RUNTIME_DTS, RUNTIME_JS};
use nagare_testkit::node;

const FILES: node::ClientFiles<'static> = &[
    ("chatter.js", CLIENT_JS),
    ("chatter.d.ts", CLIENT_DTS),
    ("nagare-client.js", RUNTIME_JS),
    ("nagare-client.d.ts", RUNTIME_DTS),
];

#[test]
fn the_client_type_checks_strictly_and_refuses_mistakes() {
    match node::typecheck("chatter", FILES, "chatter.check.ts") {
        Ok(out) => println!("{out}"),
        Err(out) => panic!("tsc --strict refused the client or accepted a mistake:\n{out}"),
    }
}

#[tokio::test]
async fn the_client_passes_its_tests_against_a_real_chatter() {
    let server = common::start().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let read_only = common::token_with(serde_json::json!({"iat": now, "scopes": ["stream:read"]}));
    let env = [("READ_ONLY_TOKEN", read_only.as_str())];
    let run = node::run_tests("chatter", FILES, "chatter.test.mjs", &server.base, &env);
    match tokio::time::timeout(std::time::Duration::from_secs(60), run).await {
        Ok(Ok(out)) => println!("{out}"),
        Ok(Err(out)) => panic!("the client's tests failed:\n{out}"),
        Err(_) => panic!("the client's tests took over 60 s"),
    }
}
