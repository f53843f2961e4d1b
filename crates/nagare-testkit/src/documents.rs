//! The checks every API's generated documents get: the ecosystem's
//! validators accept them, the server binary serves them only when asked
//! (`--specs`), and the command-line client prints them.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::node::{validate, Spec};
use crate::process::ServerProcess;

/// Panics, with the validator's report, unless both documents pass.
pub fn assert_valid(name: &str, asyncapi: &str, openapi: &str) {
    for (spec, document) in [(Spec::AsyncApi, asyncapi), (Spec::OpenApi, openapi)] {
        match validate(spec, name, document) {
            Ok(report) => println!("{report}"),
            Err(report) => panic!("{spec:?} document refused:\n{report}"),
        }
    }
}

/// `GET path` on a fresh connection: the response head and body.
pub async fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.expect("request");
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.expect("response");
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (head.to_owned(), body.to_owned())
}

/// `binary --specs` serves each `(path, document)` as JSON; without the flag
/// the first path is a 404.
pub async fn assert_served_only_with_flag(binary: &str, documents: &[(&str, &str)]) {
    let with = ServerProcess::start(binary, &["--addr", "127.0.0.1:0", "--specs"]).await;
    for (path, document) in documents {
        let (head, body) = get(with.addr(), path).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
        assert_eq!(&body, document, "{path}");
    }
    with.kill().await;
    let without = ServerProcess::start(binary, &["--addr", "127.0.0.1:0"]).await;
    if let Some((path, _)) = documents.first() {
        let (head, _) = get(without.addr(), path).await;
        assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    }
    without.kill().await;
}

/// `cli <command>` prints the document, for each `(command, document)`.
pub fn assert_printed(cli: &str, documents: &[(&str, &str)]) {
    for (command, document) in documents {
        let out = std::process::Command::new(cli)
            .arg(command)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cli}: {e}"));
        assert!(out.status.success(), "{out:?}");
        assert_eq!(&String::from_utf8_lossy(&out.stdout), document);
    }
}
