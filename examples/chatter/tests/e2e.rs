//! Every chatter method and every error path, over real sockets, with the
//! generated client.

mod common;

use ::chatter::chatter::{self, client::Client, Error};
use common::{bounded, login, start, token_with};
use nagare::{ClientError, StreamError};

fn payload_token(token: &str) -> chatter::EchoerPayload {
    chatter::EchoerPayload {
        token: token.into(),
    }
}

#[tokio::test]
async fn login_returns_a_token_that_opens_every_stream() {
    bounded(async {
        let server = start().await;
        let token = login(&server.base).await;
        assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
        let client = Client::new(&server.base);
        let mut echo = client.echoer(&payload_token(&token)).await.expect("echoer");
        echo.send(&"hello".to_owned()).await.expect("send");
        assert_eq!(echo.recv().await.expect("recv").as_deref(), Some("hello"));
        echo.close().await.expect("close");
        assert_eq!(echo.recv().await.expect("end"), None);
    })
    .await;
}

#[tokio::test]
async fn login_refuses_a_wrong_password_with_401() {
    bounded(async {
        let server = start().await;
        let bad = chatter::LoginPayload {
            user: "goa".into(),
            password: "rolls".into(),
        };
        match Client::new(&server.base).login(&bad).await {
            Err(Error::Unauthorized(m)) => {
                assert_eq!(m, "invalid username and password combination")
            }
            other => panic!("expected unauthorized, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn listener_summary_and_history_share_the_store() {
    bounded(async {
        let server = start().await;
        let token = login(&server.base).await;
        let client = Client::new(&server.base);

        let mut listener = client
            .listener(&chatter::ListenerPayload {
                token: token.clone(),
            })
            .await
            .expect("listener");
        for m in ["one", "two"] {
            listener.send(&m.to_owned()).await.expect("send");
        }
        listener.close().await.expect("listener ends with 1000");

        let mut summary = client
            .summary(&chatter::SummaryPayload {
                token: token.clone(),
            })
            .await
            .expect("summary");
        for m in ["three", "four!"] {
            summary.send(&m.to_owned()).await.expect("send");
        }
        let result = summary.close_and_recv().await.expect("summary result");
        let got: Vec<(String, Option<i64>)> = result
            .iter()
            .map(|s| (s.message.clone(), s.length))
            .collect();
        assert_eq!(
            got,
            [("three".to_owned(), Some(5)), ("four!".to_owned(), Some(5))]
        );
        assert!(result
            .iter()
            .all(|s| chrono::DateTime::parse_from_rfc3339(&s.sent_at).is_ok()));

        // History, default view: everything stored, in order, with every attribute.
        let mut history = client
            .history(&chatter::HistoryPayload {
                token: token.clone(),
                view: None,
            })
            .await
            .expect("history");
        let mut all = Vec::new();
        while let Some(s) = history.recv().await.expect("recv") {
            assert!(s.length.is_some() && !s.sent_at.is_empty());
            all.push(s.message);
        }
        assert_eq!(all, ["one", "two", "three", "four!"]);

        // The tiny view: the message only.
        let mut tiny = client
            .history(&chatter::HistoryPayload {
                token,
                view: Some("tiny".into()),
            })
            .await
            .expect("history tiny");
        assert_eq!(tiny.view(), Some("tiny"));
        let first = tiny.recv().await.expect("recv").expect("one message");
        assert_eq!(
            (first.message.as_str(), first.length, first.sent_at.as_str()),
            ("one", None, "")
        );
    })
    .await;
}

#[tokio::test]
async fn history_of_an_empty_store_is_an_empty_stream_not_a_200() {
    bounded(async {
        let server = start().await;
        let token = login(&server.base).await;
        let mut history = Client::new(&server.base)
            .history(&chatter::HistoryPayload { token, view: None })
            .await
            .expect("history");
        assert_eq!(history.recv().await.expect("clean end"), None);
    })
    .await;
}

#[tokio::test]
async fn subscribers_are_listed_by_who_and_get_an_event_per_added_message() {
    bounded(async {
        let server = start().await;
        let token = login(&server.base).await;
        let client = Client::new(&server.base);
        let who = || async {
            client
                .who(&chatter::WhoPayload {
                    token: token.clone(),
                    after: None,
                    limit: 100,
                })
                .await
                .expect("who")
        };
        assert!(who().await.is_empty());
        let mut sub = client
            .subscribe(&chatter::SubscribePayload {
                token: token.clone(),
                name: Some("ann".into()),
            })
            .await
            .expect("subscribe");
        // The subscriber is in the room once its method runs, a moment after
        // the client has its 101: each look awaits a round trip, no sleeping.
        let mut listed = Vec::new();
        for _ in 0..10_000 {
            listed = who().await;
            if !listed.is_empty() {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].name.as_deref(), Some("ann"));
        // Following, it sees every message added from now on.
        let mut echo = client.echoer(&payload_token(&token)).await.expect("echoer");
        for m in ["one", "two"] {
            echo.send(&m.to_owned()).await.expect("send");
            assert_eq!(echo.recv().await.expect("echo").as_deref(), Some(m));
        }
        for m in ["one", "two"] {
            let event = sub.recv().await.expect("event").expect("not the end");
            assert_eq!(
                (event.message.as_str(), event.action.as_str()),
                (m, "added")
            );
            assert!(chrono::DateTime::parse_from_rfc3339(&event.added_at).is_ok());
        }
        // Leaving takes it off the list.
        sub.close().await.expect("close");
        let mut listed = vec![];
        for _ in 0..10_000 {
            listed = who().await;
            if listed.is_empty() {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(listed.is_empty(), "{listed:?}");
    })
    .await;
}

/// The designed error a refused stream comes back as.
async fn refused_history(base: &str, token: &str) -> Error {
    match Client::new(base)
        .history(&chatter::HistoryPayload {
            token: token.into(),
            view: None,
        })
        .await
    {
        Ok(_) => panic!("the stream was accepted"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn every_token_error_is_typed_and_refused_before_the_upgrade() {
    bounded(async {
        let server = start().await;
        let now = chrono::Utc::now().timestamp();

        assert!(matches!(refused_history(&server.base, "not-a-jwt").await, Error::Unauthorized(m) if m == "invalid token"));

        let expired = token_with(serde_json::json!({"iat": now - 7200, "exp": now - 3600, "scopes": ["stream:read"]}));
        assert!(matches!(refused_history(&server.base, &expired).await, Error::Unauthorized(m) if m == "invalid token"));

        let other_key = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &serde_json::json!({"scopes": ["stream:read"]}),
            &jsonwebtoken::EncodingKey::from_secret(b"not the key"),
        )
        .expect("sign");
        assert!(matches!(refused_history(&server.base, &other_key).await, Error::Unauthorized(_)));

        let no_scopes = token_with(serde_json::json!({"iat": now}));
        assert!(matches!(refused_history(&server.base, &no_scopes).await, Error::InvalidScopes(m) if m == "invalid scopes in token"));

        // Read-only may read history but not write.
        let read_only = token_with(serde_json::json!({"iat": now, "scopes": ["stream:read"]}));
        let mut history = Client::new(&server.base)
            .history(&chatter::HistoryPayload { token: read_only.clone(), view: None })
            .await
            .expect("read scope reads");
        assert_eq!(history.recv().await.expect("end"), None);
        match Client::new(&server.base).echoer(&payload_token(&read_only)).await {
            Err(Error::InvalidScopes(m)) => assert_eq!(m, "missing scopes: stream:write"),
            other => panic!("expected invalid-scopes, got {:?}", other.err()),
        }
    })
    .await;
}

#[tokio::test]
async fn missing_credentials_and_bad_views_are_400_goa_errors() {
    bounded(async {
        let server = start().await;
        let ws = server.base.replace("http", "ws");
        let cases = [
            (
                format!("{ws}/echoer"),
                "missing_field",
                "\"token\" is missing from header".to_owned(),
            ),
            (
                format!("{ws}/history?view=huge"),
                "missing_field",
                "\"token\" is missing from header".to_owned(),
            ),
        ];
        for (url, name, message) in cases {
            match tokio_tungstenite::connect_async(url.clone()).await {
                Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                    assert_eq!(res.status(), 400, "{url}");
                    let body: serde_json::Value =
                        serde_json::from_slice(res.body().as_deref().unwrap_or_default())
                            .expect("json");
                    assert_eq!(body["name"], name);
                    assert_eq!(body["message"], message);
                }
                other => panic!("{url}: expected 400, got {other:?}"),
            }
        }
        // With a token, a bad view is refused before the upgrade.
        let token = login(&server.base).await;
        match Client::new(&server.base)
            .history(&chatter::HistoryPayload {
                token,
                view: Some("huge".into()),
            })
            .await
        {
            Err(Error::Client(ClientError::Refused {
                status,
                error: Some(e),
                ..
            })) => {
                assert_eq!(status, 400);
                assert_eq!(e.name, "invalid_enum_value");
                assert_eq!(
                    e.message,
                    "value of view must be one of \"default\", \"tiny\" but got value \"huge\""
                );
            }
            other => panic!("expected 400, got {:?}", other.err()),
        }
        // No basic credentials on login.
        let res = reqwest_less_post(&server.addr).await;
        assert!(res.starts_with("HTTP/1.1 400"), "{res}");
        assert!(
            res.contains("\"message\":\"\\\"Authorization\\\" is missing from header\""),
            "{res}"
        );
    })
    .await;
}

/// POST /login without credentials, over a raw socket.
async fn reqwest_less_post(addr: &std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("write");
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.expect("read");
    out
}

#[tokio::test]
async fn an_invalid_streamed_message_closes_with_1007() {
    bounded(async {
        let server = start().await;
        let token = login(&server.base).await;
        // A Go client can only send strings here; a number is what a broken peer
        // would send.
        let mut request = nagare::Request::new("/echoer".into());
        request
            .header("Authorization", format!("Bearer {token}"))
            .expect("header");
        let (conn, _) = request
            .dial(&server.base, &nagare::ConnConfig::default())
            .await
            .expect("dial");
        let mut raw = nagare::BidiClientStream::<i64, String>::new(conn, None);
        raw.send(&42).await.expect("send");
        match raw.recv().await {
            Err(StreamError::Closed { code, reason }) => {
                assert_eq!(code, 1007);
                assert!(
                    reason.starts_with("invalid message: invalid type: integer `42`"),
                    "{reason}"
                );
            }
            other => panic!("expected 1007, got {other:?}"),
        }
    })
    .await;
}
