//! The catalogue of hostile input (`docs/hostile-input.md`), its security rows:
//! missing, malformed, expired and foreign tokens, missing scopes, bad login
//! credentials. Each is refused before the upgrade with its status and Goa's
//! error body, while a bystander, connected first with a valid token, keeps
//! echoing.

mod common;

use std::net::SocketAddr;

use common::{bounded, login, start, token_with};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// A well-behaved client with a valid token: its echoer connection still
/// echoes after each attack, and a new one is served too.
struct Bystander {
    addr: SocketAddr,
    token: String,
    ws: tokio_tungstenite::WebSocketStream<TcpStream>,
}

impl Bystander {
    async fn connect(addr: SocketAddr, token: &str) -> Bystander {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{addr}/echoer")
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let (ws, _) = tokio_tungstenite::client_async(request, tcp)
            .await
            .expect("the bystander connects");
        Bystander {
            addr,
            token: token.to_owned(),
            ws,
        }
    }

    async fn still_served(&mut self) {
        echo_once(&mut self.ws).await;
        let mut fresh = Bystander::connect(self.addr, &self.token).await;
        echo_once(&mut fresh.ws).await;
    }
}

async fn echo_once(ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::text("\"still here\""))
        .await
        .expect("the bystander sends");
    match ws.next().await {
        Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), "\"still here\"\n"),
        other => panic!("the bystander got {other:?}"),
    }
}

/// The upgrade request of `target` with `auth` header lines.
fn upgrade(addr: SocketAddr, target: &str, auth: &str) -> String {
    nagare_testkit::wire::go_upgrade_request(addr, target, auth)
}

/// The response's head and body, read until the body's length.
async fn response(addr: SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(request.as_bytes()).await.expect("request");
    nagare_testkit::wire::read_response(&mut tcp).await
}

#[tokio::test]
async fn every_bad_credential_is_refused_before_the_upgrade_and_the_server_keeps_serving() {
    bounded(async {
        let server = start().await;
        let addr = server.addr;
        let token = login(&server.base).await;
        let mut bystander = Bystander::connect(addr, &token).await;
        let now = chrono::Utc::now().timestamp();
        let expired = token_with(
            serde_json::json!({"iat": now - 7200, "exp": now - 3600, "scopes": ["stream:write"]}),
        );
        let foreign = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &serde_json::json!({"scopes": ["stream:write"]}),
            &jsonwebtoken::EncodingKey::from_secret(b"not the key"),
        )
        .expect("sign");
        let read_only = token_with(serde_json::json!({"iat": now, "scopes": ["stream:read"]}));
        let bearer = |t: &str| format!("Authorization: Bearer {t}\r\n");
        let rows: Vec<(&str, String, &str, &str)> = vec![
            (
                "no token",
                upgrade(addr, "/echoer", ""),
                " 400 ",
                "\"name\":\"missing_field\"",
            ),
            (
                "not a JWT",
                upgrade(addr, "/echoer", &bearer("not-a-jwt")),
                " 401 ",
                "\"invalid token\"",
            ),
            (
                "expired token",
                upgrade(addr, "/echoer", &bearer(&expired)),
                " 401 ",
                "\"invalid token\"",
            ),
            (
                "token signed with another key",
                upgrade(addr, "/echoer", &bearer(&foreign)),
                " 401 ",
                "\"invalid token\"",
            ),
            (
                "token without the scope",
                upgrade(addr, "/echoer", &bearer(&read_only)),
                " 403 ",
                "\"missing scopes: stream:write\"",
            ),
            (
                "malformed bearer subprotocol",
                upgrade(
                    addr,
                    "/echoer",
                    "Sec-WebSocket-Protocol: nagare, nagare.bearer.not-a-jwt\r\n",
                ),
                " 401 ",
                "\"invalid token\"",
            ),
            (
                "login with a wrong password",
                format!("POST /login HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic Z29hOmJhZA==\r\nContent-Length: 0\r\n\r\n"),
                " 401 ",
                "\"invalid username and password combination\"",
            ),
            (
                "login without credentials",
                format!("POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"),
                " 400 ",
                "\"Authorization\\\" is missing from header",
            ),
        ];
        for (name, request, status, body) in rows {
            let res = response(addr, &request).await;
            assert!(res.lines().next().is_some_and(|l| l.contains(status)), "{name}: {res}");
            assert!(res.contains(body), "{name}: {res}");
            bystander.still_served().await;
        }
    })
    .await;
}
