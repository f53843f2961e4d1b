//! A chatter server on a loopback port, and tokens for tests.

#![allow(dead_code)]

use chatter::auth::AuthConfig;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};

/// The signing key of test servers: 32 bytes or more, as HS256 needs.
pub const KEY: &str = "the chatter tests' key, 32 bytes or more";

/// A running chatter server.
pub struct Server {
    pub base: String,
    pub addr: std::net::SocketAddr,
}

/// Serves chatter on `127.0.0.1:0` with Goa's credentials and [`KEY`].
pub async fn start() -> Server {
    let app = chatter::service::Chatter::new(
        AuthConfig::with_key(KEY),
        chatter::chatter::Rooms::new(nagare::MemoryBroker::new().shared()),
    )
    .router(nagare::ServerOptions::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { nagare::axum::serve(nagare::server::nodelay(listener), app).await });
    Server {
        base: format!("http://{addr}"),
        addr,
    }
}

#[allow(unused_imports)] // not every test binary bounds its tests
pub use nagare_testkit::bounded;

/// A token signed with [`KEY`] carrying exactly `claims`.
pub fn token_with(claims: serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(KEY.as_bytes()),
    )
    .expect("sign a test token")
}

/// A valid token with every scope, from login.
pub async fn login(base: &str) -> String {
    chatter::chatter::client::Client::new(base)
        .login(&chatter::chatter::LoginPayload {
            user: "goa".into(),
            password: "rocks".into(),
        })
        .await
        .expect("login")
}

/// Runs `chatter-cli` with `args`, feeding `input` on stdin; returns (success,
/// stdout, stderr).
pub async fn cli(args: &[&str], input: &str) -> (bool, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatter-cli"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn chatter-cli");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).await.expect("stdin");
    drop(stdin);
    let out = child.wait_with_output().await.expect("output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
