//! The client's checks of the `nagare.v1` extension against servers that break
//! it, and the server's answers to resume points it cannot serve.

mod support;

use nagare::client::{Dialer, Request};
use nagare::ws::{Data, TextBytes};
use nagare::{RawStream, ServerOptions, ServerStream, StreamError};
use support::{bounded, serve};

/// Options of an endpoint that speaks `nagare.v1`.
fn numbered() -> ServerOptions {
    let mut options = ServerOptions::new();
    options.conn.enable_resume();
    options
}

/// A server that sends `frames` as they are, then ends the stream.
async fn scripted(options: ServerOptions, frames: &'static [&'static str]) -> String {
    let addr = serve(options, move |conn| async move {
        let mut raw = RawStream::new(conn);
        for f in frames {
            raw.send(Data::Text(TextBytes::from(*f))).await?;
        }
        Ok(())
    })
    .await;
    format!("http://{addr}")
}

async fn open(base: &str) -> nagare::ResumableStream<String> {
    nagare::ResumableStream::connect(&Dialer::new(base), Request::new("/s".into()))
        .await
        .expect("dial")
}

#[tokio::test]
async fn a_gap_in_the_numbers_is_reported_not_hidden() {
    bounded(async {
        let base = scripted(
            numbered(),
            &[
                "{\"epoch\":\"e1\",\"seq\":0}\n",
                "{\"seq\":1,\"data\":\"a\"}\n",
                "{\"seq\":3,\"data\":\"c\"}\n",
            ],
        )
        .await;
        let mut s = open(&base).await;
        assert!(s.is_resumable());
        assert_eq!(s.recv().await.expect("a").as_deref(), Some("a"));
        match s.recv().await {
            Err(StreamError::Gap {
                expected: 2,
                got: 3,
            }) => {}
            other => panic!("expected a gap, got {other:?}"),
        }
        // The stream is over, and says why every time it is asked.
        assert!(matches!(
            s.recv().await,
            Err(StreamError::Gap {
                expected: 2,
                got: 3
            })
        ));
    })
    .await;
}

#[tokio::test]
async fn a_message_before_the_position_or_a_broken_envelope_ends_the_stream() {
    bounded(async {
        let base = scripted(numbered(), &["{\"seq\":1,\"data\":\"a\"}\n"]).await;
        let mut s = open(&base).await;
        assert!(matches!(
            s.recv().await,
            Err(StreamError::Gap {
                expected: 1,
                got: 1
            })
        ));
        let base = scripted(numbered(), &["{\"epoch\":\"e1\",\"seq\":0}\n", "[1,2]\n"]).await;
        let mut s = open(&base).await;
        assert!(matches!(
            s.recv().await,
            Err(StreamError::InvalidMessage(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn a_server_that_does_not_speak_nagare_v1_gives_a_plain_stream() {
    bounded(async {
        // No subprotocol selected: RFC 6455 lets the client go on, on the same
        // connection.
        let base = scripted(ServerOptions::new(), &["\"plain\"\n"]).await;
        let addr = base.trim_start_matches("http://").parse().expect("address");
        let proxy = nagare_testkit::proxy::Proxy::start(addr).await;
        let mut s = open(&proxy.url()).await;
        assert_eq!(proxy.accepted(), 1);
        assert!(!s.is_resumable());
        assert_eq!(s.recv().await.expect("msg").as_deref(), Some("plain"));
        assert_eq!(s.recv().await.expect("end"), None);
        assert!(s.position().is_none());
    })
    .await;
}

#[tokio::test]
async fn numbered_sends_without_a_log_refuse_a_resume_point_with_4010() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    bounded(async {
        let addr = serve(numbered(), |conn| async move {
            let mut s = ServerStream::<String>::new(conn, None);
            s.send(&"x".to_owned()).await
        })
        .await;
        // A fresh client gets a position of its own and numbered messages.
        let mut s = open(&format!("http://{addr}")).await;
        assert_eq!(s.recv().await.expect("x").as_deref(), Some("x"));
        assert_eq!(s.position().map(|p| p.seq), Some(1));

        // A returning client cannot be served: those numbers were this
        // connection's own.
        let mut request = format!("ws://{addr}/s")
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "nagare.v1, nagare.resume.abc.5".parse().expect("header"),
        );
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (mut ws, response) = tokio_tungstenite::client_async(request, tcp)
            .await
            .expect("upgrade");
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.as_bytes()),
            Some(&b"nagare.v1"[..])
        );
        match ws.next().await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 4010);
                assert!(
                    frame
                        .reason
                        .starts_with("too far behind: this stream keeps no replay log"),
                    "{}",
                    frame.reason
                );
            }
            other => panic!("expected a close, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn a_refused_reconnection_ends_the_stream_with_the_servers_answer() {
    use axum::extract::Request as HttpRequest;
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    bounded(async {
        // The first upgrade is served; later ones are refused with a 401, as a
        // server does once the client's token has expired.
        let options = numbered();
        let calls = Arc::new(AtomicU32::new(0));
        let room = nagare::Room::<String>::new(
            nagare::MemoryBroker::new().shared(),
            nagare::broker::RoomId::new("test", nagare::broker::RoomConfig::new(16)),
        );
        room.publish(&"first".to_owned()).await.expect("publish");
        let app = axum::Router::new().route(
            "/s",
            axum::routing::get(move |req: HttpRequest| {
                let (options, calls, room) = (options.clone(), calls.clone(), room.clone());
                async move {
                    if calls.fetch_add(1, Ordering::SeqCst) > 0 {
                        return nagare::GoaError::new("unauthorized", "token expired")
                            .into_response_with(StatusCode::UNAUTHORIZED);
                    }
                    let (mut parts, _) = req.into_parts();
                    let endpoint = options.endpoint("test", "test");
                    nagare::server::upgrade(&mut parts, &options, endpoint, HeaderMap::new(), move |conn| async move {
                        let mut s = ServerStream::<String>::new(conn, None);
                        s.follow(&room).await
                    })
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(nagare::server::nodelay(listener), app).await });
        let proxy = nagare_testkit::proxy::Proxy::start(addr).await;

        let mut dialer = Dialer::new(proxy.url());
        dialer.set_reconnect(Some(
            nagare::RetryPolicy::default()
                .initial_delay(std::time::Duration::from_millis(1))
                .forever(),
        ));
        let mut s: nagare::ResumableStream<String> =
            nagare::ResumableStream::connect(&dialer, Request::new("/s".into()))
            .await
            .expect("dial");
        proxy.cut();
        match s.recv().await {
            Err(StreamError::Reconnect(e)) => {
                assert!(
                    matches!(*e, nagare::ClientError::Refused { status, .. } if status == StatusCode::UNAUTHORIZED),
                    "{e}"
                );
                assert_eq!(e.kind(), nagare::ErrorKind::Fatal);
            }
            other => panic!("expected a refused reconnection, got {other:?}"),
        }
        // One connection, one refused reconnection: no retry after the 401.
        assert_eq!(proxy.accepted(), 2);
    })
    .await;
}
