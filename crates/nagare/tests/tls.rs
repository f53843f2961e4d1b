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
        let listener = nagare::server::Listener::bind("127.0.0.1:0")
            .await
            .expect("bind")
            .with_tls(server);
        let port = listener.local_addr().expect("addr").port();
        let options = ServerOptions::new();
        let app = support::router(options.clone(), |conn| async move {
            let mut s = BidiServerStream::<String, String>::new(conn, None);
            while let Some(m) = s.recv().await? {
                s.send(&m).await?;
            }
            Ok::<_, StreamError>(())
        });
        let serving = {
            let options = options.clone();
            tokio::spawn(async move {
                options
                    .serve(listener, app, std::time::Duration::from_secs(5))
                    .await
            })
        };
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
            Err(ClientError::Handshake { reason, cause }) => {
                assert_eq!(reason, "TLS");
                // The rustls error that refused the certificate is kept.
                let cause = cause.map(|c| c.to_string()).unwrap_or_default();
                assert!(cause.contains("certificate"), "{cause}");
            }
            Err(other) => panic!("expected a TLS refusal, got {other:?}"),
            Ok(_) => panic!("an untrusted certificate was accepted"),
        }
        // The same shutdown as plain TCP: the open stream is closed with 1001.
        options.shutdown.cancel();
        assert!(matches!(
            s.recv().await,
            Err(StreamError::Closed { code: 1001, .. })
        ));
        let report = serving.await.expect("join").expect("served");
        assert_eq!(report.abandoned, 0);
    })
    .await;
}
