//! `wss://`: a server with a certificate from a private CA, a client that trusts
//! that CA, and a client that does not.

#![cfg(feature = "tls")]

mod support;

use std::path::PathBuf;

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use nagare::{
    BidiClientStream, BidiServerStream, ClientError, ConnConfig, EndpointName, ServerOptions,
    StreamError,
};
use support::bounded;

/// A CA and a `localhost` certificate it signed, as PEM files in a fresh folder.
fn certificates() -> (PathBuf, PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "nagare-tls-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca");
    let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("leaf params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    let (ca_pem, cert_pem, key_pem) = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&ca_pem, ca.pem()).expect("write ca");
    std::fs::write(&cert_pem, leaf.pem()).expect("write cert");
    std::fs::write(&key_pem, leaf_key.serialize_pem()).expect("write key");
    (ca_pem, cert_pem, key_pem)
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}

async fn echo(req: Request) -> axum::response::Response {
    let (mut parts, _) = req.into_parts();
    let ep = EndpointName {
        service: "tls",
        method: "echo",
    };
    nagare::server::upgrade(
        &mut parts,
        &ServerOptions::new(),
        ep,
        HeaderMap::new(),
        |conn| async move {
            let mut s = BidiServerStream::<String, String>::new(conn, None);
            while let Some(m) = s.recv().await? {
                s.send(&m).await?;
            }
            Ok::<_, StreamError>(())
        },
    )
}

#[tokio::test]
async fn wss_with_a_trusted_ca_and_refused_without() {
    bounded(async {
        let (ca, cert, key) = certificates();
        let server = nagare::tls::server_config(&cert, &key).expect("server config");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let shutdown = tokio_util_token();
        tokio::spawn(nagare::tls::serve(
            listener,
            Router::new().route("/echo", get(echo)),
            server,
            shutdown.clone(),
        ));
        let base = format!("https://localhost:{port}");

        let trusting = ConnConfig {
            tls: Some(nagare::tls::client_config(Some(&ca)).expect("client config")),
            ..ConnConfig::default()
        };
        let (conn, _) = nagare::Request::new("/echo".into())
            .dial(&base, &trusting)
            .await
            .expect("wss dial");
        let mut s = BidiClientStream::<String, String>::new(conn, None);
        s.send(&"over tls".to_owned()).await.expect("send");
        assert_eq!(s.recv().await.expect("recv").as_deref(), Some("over tls"));

        // A client that trusts only the system's roots refuses the private CA.
        let system_roots_only = ConnConfig::default();
        match nagare::Request::new("/echo".into())
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
