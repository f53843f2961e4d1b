//! The chatter page in headless Chromium (`js/test/chatter.browser.mjs`):
//! Debian's `chromium`, driven by `playwright-core`, against the `chatter`
//! binary with compression on. Two pages see each other's messages in
//! order; the history view switch; a wrong password; permessage-deflate
//! negotiated and the token only ever in a subprotocol; the server killed
//! and restarted under a subscribed page, which shows it reconnecting and
//! carries on without duplicates; the page over https:// streaming over
//! wss:// (a second `chatter` with a certificate of the test's CA).
//! Screenshots of each end state go to `target/browser-screenshots/`.

mod common;

use std::sync::Arc;

use nagare_testkit::node;
use nagare_testkit::process::ServerProcess;
use tokio::sync::Mutex;

const CHROMIUM: &str = "/usr/bin/chromium";

async fn chatter(addr: &str) -> ServerProcess {
    ServerProcess::start(
        env!("CARGO_BIN_EXE_chatter"),
        // The key is fixed so tokens survive the restart, as in production.
        &[
            "--addr",
            addr,
            "--jwt-key",
            common::KEY,
            "--compression",
            "6",
        ],
    )
    .await
}

#[tokio::test]
async fn the_page_works_in_headless_chromium() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium (scripts/test does)"
    );
    let server = chatter("127.0.0.1:0").await;
    let base = server.base();
    let server = Arc::new(Mutex::new(Some(server)));
    // GET /restart kills the server (SIGKILL) and starts another on its port.
    let control = nagare::axum::Router::new().route(
        "/restart",
        nagare::axum::routing::get(move || {
            let server = server.clone();
            async move {
                let mut slot = server.lock().await;
                let Some(old) = slot.take() else {
                    return "no server".to_owned();
                };
                let addr = old.kill().await;
                *slot = Some(chatter(&addr.to_string()).await);
                "restarted".to_owned()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the control port");
    let control_url = format!("http://{}", listener.local_addr().expect("control addr"));
    tokio::spawn(async move { nagare::axum::serve(listener, control).await });
    // The same page over https:// and wss://, on a certificate for localhost.
    let certs = nagare_testkit::certificates();
    let (cert, key) = (certs.cert.to_string_lossy(), certs.key.to_string_lossy());
    let tls = ServerProcess::start(
        env!("CARGO_BIN_EXE_chatter"),
        &[
            "--addr",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ],
    )
    .await;
    let tls_url = format!("https://localhost:{}", tls.addr().port());
    let shots = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/browser-screenshots");
    let shots = shots.to_string_lossy().into_owned();
    let env = [
        ("CONTROL_URL", control_url.as_str()),
        ("SCREENSHOTS", shots.as_str()),
        ("CHROMIUM", CHROMIUM),
        ("NAGARE_TLS_URL", tls_url.as_str()),
    ];
    let run = node::run_tests("chatter-page", &[], "chatter.browser.mjs", &base, &env);
    match tokio::time::timeout(std::time::Duration::from_secs(180), run).await {
        Ok(Ok(out)) => println!("{out}"),
        Ok(Err(out)) => panic!("the page failed in Chromium:\n{out}"),
        Err(_) => panic!("the browser scenarios took over 180 s"),
    }
}
