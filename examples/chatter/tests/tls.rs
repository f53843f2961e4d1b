//! Chatter over TLS: `https://` login and `wss://` streams, from the generated CLI
//! trusting a private CA.

mod common;

use chatter::auth::AuthConfig;
use common::{bounded, cli, KEY};

#[tokio::test]
async fn the_cli_logs_in_and_echoes_over_tls() {
    bounded(async {
        let nagare_testkit::Certificates { ca, cert, key } = nagare_testkit::certificates();
        let options = nagare::ServerOptions::new();
        let app = chatter::service::Chatter::new(
            AuthConfig::with_key(KEY),
            chatter::chatter::Rooms::new(nagare::MemoryBroker::new().shared()),
        )
        .router(options.clone());
        let tls = nagare::tls::server_config(&cert, &key).expect("tls config");
        let listener = nagare::server::Listener::bind("127.0.0.1:0")
            .await
            .expect("bind")
            .with_tls(tls);
        let port = listener.local_addr().expect("addr").port();
        let serving = options.clone();
        tokio::spawn(async move {
            serving
                .serve(listener, app, std::time::Duration::from_secs(5))
                .await
        });
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
