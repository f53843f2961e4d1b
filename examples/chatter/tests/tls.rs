//! Chatter over TLS: `https://` login and `wss://` streams, from the generated CLI
//! trusting a private CA.

mod common;

use std::path::PathBuf;

use chatter::auth::AuthConfig;
use common::{bounded, cli, KEY};

/// A CA and a `localhost` certificate it signed, as PEM files in a fresh folder.
fn certificates() -> (PathBuf, PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("chatter-tls-{}", std::process::id()));
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
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).expect("ca");
    std::fs::write(&paths.1, leaf.pem()).expect("cert");
    std::fs::write(&paths.2, leaf_key.serialize_pem()).expect("key");
    paths
}

#[tokio::test]
async fn the_cli_logs_in_and_echoes_over_tls() {
    bounded(async {
        let (ca, cert, key) = certificates();
        let options = nagare::ServerOptions::new();
        let app = chatter::service::Chatter::new(AuthConfig::with_key(KEY)).router(options.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let tls = nagare::tls::server_config(&cert, &key).expect("tls config");
        tokio::spawn(nagare::tls::serve(
            listener,
            app,
            tls,
            options.shutdown.clone(),
        ));
        let url = format!("https://localhost:{port}");
        let ca = ca.to_string_lossy().into_owned();

        let (ok, out, err) = cli(
            &[
                "--url",
                &url,
                "--ca-file",
                &ca,
                "chatter",
                "login",
                "--user",
                "goa",
                "--password",
                "rocks",
            ],
            "",
        )
        .await;
        assert!(ok, "{err}");
        let token = out.trim().trim_matches('"').to_owned();

        let (ok, out, err) = cli(
            &[
                "--url",
                &url,
                "--ca-file",
                &ca,
                "chatter",
                "echoer",
                "--token",
                &token,
            ],
            "secure\n",
        )
        .await;
        assert!(ok, "{err}");
        assert_eq!(out, "\"secure\"\n");

        // Without the CA the certificate is refused.
        let (ok, _, err) = cli(
            &[
                "--url",
                &url,
                "chatter",
                "login",
                "--user",
                "goa",
                "--password",
                "rocks",
            ],
            "",
        )
        .await;
        assert!(!ok);
        assert!(err.contains("error"), "{err}");
        options.shutdown.cancel();
    })
    .await;
}
