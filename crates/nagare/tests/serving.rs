//! `ServerOptions::serve` holding an upgrade to its deadline: a handler that
//! takes too long before the 101 (a slow auth hook, say) is answered 503, and
//! the server goes on serving. And refusing to start with settings for an
//! endpoint it does not serve.

use std::time::Duration;

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::routing::get;
use nagare::server::{Listener, ServerOptions};
use nagare::ConnConfig;
use nagare_testkit::bounded;
use nagare_testkit::wire::{go_upgrade_request, send_head};

#[tokio::test]
async fn an_upgrade_slower_than_the_handshake_deadline_is_answered_503() {
    bounded(async {
        let mut options = ServerOptions::new();
        options.limits.handshake_timeout = Duration::from_millis(300);
        let shared = options.clone();
        let app = axum::Router::new().route(
            "/ws",
            get(move |request: Request| {
                let options = shared.clone();
                async move {
                    let slow = request.uri().query() == Some("slow");
                    if slow {
                        // An auth hook that hangs.
                        std::future::pending::<()>().await;
                    }
                    let (mut parts, _) = request.into_parts();
                    let endpoint = options.endpoint("test", "ws");
                    nagare::server::upgrade(
                        &mut parts,
                        &options,
                        endpoint,
                        HeaderMap::new(),
                        |conn| async move {
                            let mut s = nagare::stream::RawStream::new(conn);
                            while let Some(d) = s.recv().await? {
                                s.send(d).await?;
                            }
                            Ok::<(), nagare::StreamError>(())
                        },
                    )
                }
            }),
        );
        let listener = Listener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let serving = options.clone();
        tokio::spawn(async move { serving.serve(listener, app, Duration::from_secs(1)).await });
        let started = std::time::Instant::now();
        let (_, head) = send_head(addr, &go_upgrade_request(addr, "/ws?slow", "")).await;
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("retry-after: 1\r\n"),
            "{head}"
        );
        assert!(started.elapsed() >= Duration::from_millis(250));
        let (_, head) = send_head(addr, &go_upgrade_request(addr, "/ws", "")).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        options.shutdown.cancel();
    })
    .await;
}

#[tokio::test]
async fn serve_refuses_settings_for_an_endpoint_it_does_not_serve() {
    bounded(async {
        // A name this server never declares: its settings would be ignored.
        let elsewhere = ServerOptions::new().endpoint("chat", "ecoh");
        let mut options = ServerOptions::new();
        let served = options.endpoint("chat", "echo");
        options.set_endpoint(served, ConnConfig::default());
        assert!(options.check_endpoints().is_ok());
        options.set_endpoint(elsewhere, ConnConfig::default());
        let refused = options.check_endpoints().expect_err("chat/ecoh is not served");
        assert_eq!(refused.endpoint, elsewhere);
        assert_eq!(refused.served, [served]);
        let listener = Listener::bind("127.0.0.1:0").await.expect("bind");
        let err = options
            .serve(listener, axum::Router::new(), Duration::from_secs(1))
            .await
            .expect_err("serve starts");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "ServerOptions::set_endpoint has settings for chat/ecoh, which this server does not serve (it serves chat/echo)"
        );
    })
    .await;
}
