//! `wss://`: a server with a certificate from a private CA, a client that trusts
//! that CA, and a client that does not.

#![cfg(feature = "tls")]

mod support;

use nagare::{
    BidiClientStream, BidiServerStream, ClientError, ConnConfig, ServerOptions, StreamError,
};
use support::bounded;

#[tokio::test]
async fn wss_with_a_trusted_ca_and_refused_without() {
    bounded(async {
        let nagare_testkit::Certificates { ca, cert, key } = nagare_testkit::certificates();
        let server = nagare::tls::server_config(&cert, &key).expect("server config");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let shutdown = tokio_util_token();
        tokio::spawn(nagare::tls::serve(
            listener,
            support::router(ServerOptions::new(), |conn| async move {
                let mut s = BidiServerStream::<String, String>::new(conn, None);
                while let Some(m) = s.recv().await? {
                    s.send(&m).await?;
                }
                Ok::<_, StreamError>(())
            }),
            server,
            shutdown.clone(),
        ));
        let base = format!("https://localhost:{port}");

        let trusting = ConnConfig {
            tls: Some(nagare::tls::client_config(Some(&ca)).expect("client config")),
            ..ConnConfig::default()
        };
        let (conn, _) = nagare::Request::new("/s".into())
            .dial(&base, &trusting)
            .await
            .expect("wss dial");
        let mut s = BidiClientStream::<String, String>::new(conn, None);
        s.send(&"over tls".to_owned()).await.expect("send");
        assert_eq!(s.recv().await.expect("recv").as_deref(), Some("over tls"));

        // A client that trusts only the system's roots refuses the private CA.
        let system_roots_only = ConnConfig::default();
        match nagare::Request::new("/s".into())
            .dial(&base, &system_roots_only)
            .await
        {
            Err(ClientError::Handshake(reason)) => assert!(reason.starts_with("TLS:"), "{reason}"),
            Err(other) => panic!("expected a TLS refusal, got {other:?}"),
            Ok(_) => panic!("an untrusted certificate was accepted"),
        }
        shutdown.cancel();
    })
    .await;
}

fn tokio_util_token() -> tokio_util::sync::CancellationToken {
    tokio_util::sync::CancellationToken::new()
}
