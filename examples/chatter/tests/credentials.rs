//! Credentials that expire and keys that are too short, against the `chatter`
//! binary: a stream lives no longer than its token (closed with 4001 at its
//! `exp`), a resumable subscriber that comes back with a fresh token loses
//! nothing, tokens without `exp` are accepted unless `--require-exp`, and an
//! HS256 key under 32 bytes is refused at start (`docs/hostile-input.md`,
//! "Credentials").

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chatter::chatter::{self as api, client::Client};
use common::{bounded, token_with, KEY};
use futures_util::StreamExt;
use nagare_testkit::process::ServerProcess;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

async fn chatter(flags: &[&str]) -> ServerProcess {
    let mut args = vec!["--addr", "127.0.0.1:0", "--jwt-key", KEY];
    args.extend_from_slice(flags);
    ServerProcess::start(env!("CARGO_BIN_EXE_chatter"), &args).await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A token with every scope, expiring `ttl` seconds from now (`None`: never).
fn token(ttl: Option<u64>) -> String {
    let mut claims = serde_json::json!({ "scopes": ["stream:read", "stream:write"] });
    if let Some(ttl) = ttl {
        claims["exp"] = (now() + ttl).into();
    }
    token_with(claims)
}

/// Subscribes over `nagare.v1` with `token`, offering `resume` (epoch, seq).
async fn subscribe(
    addr: std::net::SocketAddr,
    token: &str,
    resume: Option<(&str, u64)>,
) -> WebSocketStream<TcpStream> {
    let mut request = format!("ws://{addr}/subscribe")
        .into_client_request()
        .expect("request");
    let protocols = match resume {
        Some((epoch, seq)) => format!("nagare.v1, nagare.resume.{epoch}.{seq}"),
        None => "nagare.v1".to_owned(),
    };
    let headers = request.headers_mut();
    headers.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    headers.insert("sec-websocket-protocol", protocols.parse().expect("header"));
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (ws, _) = tokio_tungstenite::client_async(request, tcp)
        .await
        .expect("the subscriber connects");
    ws
}

/// The next frame's JSON, or the close (code, reason).
async fn next(ws: &mut WebSocketStream<TcpStream>) -> Result<serde_json::Value, (u16, String)> {
    match ws.next().await {
        Some(Ok(Message::Text(t))) => Ok(serde_json::from_str(t.as_str()).expect("JSON")),
        Some(Ok(Message::Close(Some(c)))) => Err((u16::from(c.code), c.reason.to_string())),
        other => panic!("a frame expected, got {other:?}"),
    }
}

async fn publish(base: &str, token: &str, messages: &[&str]) {
    let mut listener = Client::new(base)
        .listener(&api::ListenerPayload {
            token: token.to_owned(),
        })
        .await
        .expect("listener");
    for m in messages {
        listener.send(&(*m).to_owned()).await.expect("send");
    }
    listener.close().await.expect("published");
}

#[tokio::test]
async fn a_stream_ends_with_its_token_and_resumes_with_a_fresh_one() {
    bounded(async {
        let server = chatter(&[]).await;
        let (addr, base) = (server.addr(), server.base());
        let long = token(Some(3600));
        // A token good for 2 more seconds (1 to 2: `exp` is in seconds).
        let short = token(Some(2));
        let opened = Instant::now();
        let mut sub = subscribe(addr, &short, None).await;
        let position = next(&mut sub).await.expect("position");
        let epoch = position["epoch"].as_str().expect("epoch").to_owned();
        let start = position["seq"].as_u64().expect("seq");
        publish(&base, &long, &["one", "two"]).await;
        for text in ["one", "two"] {
            let frame = next(&mut sub).await.expect("a message");
            assert_eq!(frame["data"]["message"], text);
        }
        // At its `exp`, and not before, the stream is closed with 4001.
        let closed = next(&mut sub).await.expect_err("closed");
        assert_eq!(closed, (4001, "credentials expired".to_owned()));
        let lived = opened.elapsed();
        assert!(
            lived > Duration::from_millis(900) && lived < Duration::from_secs(4),
            "closed after {lived:?}"
        );
        // Published while it was away.
        publish(&base, &long, &["three"]).await;
        // Back with a fresh token and its last point: nothing lost.
        let mut back = subscribe(addr, &long, Some((&epoch, start + 2))).await;
        assert_eq!(next(&mut back).await.expect("position")["seq"], start + 2);
        let frame = next(&mut back).await.expect("the missed message");
        assert_eq!(
            (frame["seq"].as_u64(), frame["data"]["message"].as_str()),
            (Some(start + 3), Some("three"))
        );
    })
    .await;
}

#[tokio::test]
async fn a_goa_peer_sees_the_close_too() {
    bounded(async {
        let server = chatter(&[]).await;
        // Goa's client speaks no subprotocol: the echoer closes all the same.
        let mut echoer = Client::new(server.base())
            .echoer(&api::EchoerPayload {
                token: token(Some(1)),
            })
            .await
            .expect("echoer");
        echoer.send(&"hi".to_owned()).await.expect("send");
        assert_eq!(echoer.recv().await.expect("echo").as_deref(), Some("hi"));
        match echoer.recv().await {
            Err(nagare::StreamError::Closed { code, reason }) => {
                assert_eq!((code, reason.as_str()), (4001, "credentials expired"));
                assert!(nagare::ErrorKind::of_close_code(code).is_retryable());
            }
            other => panic!("4001 expected, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn tokens_without_exp_are_accepted_unless_the_operator_requires_one() {
    bounded(async {
        let lenient = chatter(&[]).await;
        let strict = chatter(&["--require-exp"]).await;
        let payload = || api::WhoPayload {
            token: token(None),
            after: None,
            limit: 100,
        };
        assert!(Client::new(lenient.base()).who(&payload()).await.is_ok());
        match Client::new(strict.base()).who(&payload()).await {
            Err(api::Error::Unauthorized(m)) => assert_eq!(m, "invalid token"),
            other => panic!("401 expected, got {other:?}"),
        }
        let with_exp = api::WhoPayload {
            token: token(Some(60)),
            after: None,
            limit: 100,
        };
        assert!(Client::new(strict.base()).who(&with_exp).await.is_ok());
    })
    .await;
}

#[tokio::test]
async fn a_short_hs256_key_is_refused_at_start() {
    bounded(async {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatter"))
            .args(["--addr", "127.0.0.1:0", "--jwt-key", "secret"])
            .output()
            .await
            .expect("run chatter");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("the JWT key is 6 bytes: HS256 needs at least 32"),
            "{stderr}"
        );
        // The help does not suggest a short key.
        let help = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatter"))
            .arg("--help")
            .output()
            .await
            .expect("help");
        let help = String::from_utf8_lossy(&help.stdout);
        assert!(!help.contains("secret"), "{help}");
        // For interoperability tests with Goa's example, a hidden switch.
        let goa = ServerProcess::start(
            env!("CARGO_BIN_EXE_chatter"),
            &[
                "--addr",
                "127.0.0.1:0",
                "--jwt-key",
                "secret",
                "--insecure-short-jwt-key",
            ],
        )
        .await;
        let warned = goa.log_lines("HS256 needs at least 32", 1).await;
        assert!(warned[0].contains("WARN"), "{warned:?}");
    })
    .await;
}
