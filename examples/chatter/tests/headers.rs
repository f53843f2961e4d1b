//! The chatter page, its script and the browser client are served with the
//! headers that keep a browser from running anything else on the page or
//! framing it (`docs/hostile-input.md`, "Origins and headers"); the page holds
//! nothing inline that its policy would have to allow.

mod common;

use common::{bounded, KEY};
use nagare_testkit::process::ServerProcess;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn the_page_and_its_scripts_carry_the_security_headers() {
    bounded(async {
        let server = ServerProcess::start(
            env!("CARGO_BIN_EXE_chatter"),
            &["--addr", "127.0.0.1:0", "--jwt-key", KEY],
        )
        .await;
        let addr = server.addr();
        for path in ["/", "/chatter.js", "/chatter.css", "/js/chatter.js"] {
            let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let request =
                format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            tcp.write_all(request.as_bytes()).await.expect("request");
            let response = nagare_testkit::wire::read_response(&mut tcp).await;
            let (head, body) = response.split_once("\r\n\r\n").unwrap_or_default();
            let head = head.to_ascii_lowercase();
            assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
            for header in [
                "content-security-policy: default-src 'self'; connect-src 'self';",
                "frame-ancestors 'none'",
                "x-content-type-options: nosniff",
                "x-frame-options: deny",
                "referrer-policy: no-referrer",
            ] {
                assert!(head.contains(header), "{path}: no {header:?} in\n{head}");
            }
            assert!(!head.contains("unsafe-inline"), "{path}: {head}");
            if path == "/" {
                // Nothing inline: every script and style comes from a file.
                assert!(!body.contains("<script>") && !body.contains("<script type=\"module\">"));
                assert!(
                    !body.contains("<style") && !body.contains("style=\""),
                    "inline style"
                );
            }
        }
    })
    .await;
}
