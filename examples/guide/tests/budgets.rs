//! What an anonymous peer can make a guide server keep, tried against the
//! `guide` binary with its default settings: the room's history stays within
//! its byte budget however large the messages, measured as the process's
//! resident memory (from `/proc`), and a bystander is served throughout
//! (`docs/hostile-input.md`, "Memory a peer can make the server keep").

mod common;

use common::bounded;
use guide::chat::{self, client::Client};
use nagare_testkit::process::ServerProcess;

const MIB: u64 = 1024 * 1024;

/// Starts `guide` on a free loopback port with `flags`, its memory measured.
async fn guide(flags: &[&str]) -> ServerProcess {
    let mut args = vec!["--addr", "127.0.0.1:0"];
    args.extend_from_slice(flags);
    ServerProcess::start_measured(env!("CARGO_BIN_EXE_guide"), &args).await
}

/// Sends `count` messages of `bytes` bytes to `/listen` and leaves once the
/// server has published them all.
async fn listen(base: &str, count: usize, bytes: usize) {
    let mut listener = Client::new(base).listener().await.expect("listen");
    let message = chat::ListenerStreamingPayload {
        message: "x".repeat(bytes),
    };
    for _ in 0..count {
        listener.send(&message).await.expect("send");
    }
    listener.close().await.expect("every message published");
}

#[tokio::test]
async fn one_anonymous_client_cannot_pin_more_than_the_rooms_byte_budget() {
    bounded(async {
        let server = guide(&[]).await;
        let base = server.base();
        // Warm up the paths the attack takes, so the baseline has them.
        listen(&base, 4, 1000).await;
        let before = server.settled_memory().await;
        // 64 messages just under the 1 MiB message limit, then the client
        // leaves: the room (1,024 messages kept) keeps 16 MiB of them.
        listen(&base, 64, 1024 * 1024 - 64).await;
        let after = server.settled_memory().await;
        let grown = after.rss.saturating_sub(before.rss);
        eprintln!(
            "grown {} MiB: before {before:?}, after {after:?}",
            grown / MIB
        );
        assert!(
            grown < 24 * MIB,
            "64 MiB sent to /listen left the server {} MiB larger (budget 16 MiB)",
            grown / MIB
        );
        // The room still serves: a subscriber gets the next event.
        let client = Client::new(&base);
        let mut subscriber = client.subscribe().await.expect("subscribe");
        listen(&base, 1, 10).await;
        let event = subscriber.recv().await.expect("event").expect("an event");
        assert_eq!(event.message, "x".repeat(10));
    })
    .await;
}

#[tokio::test]
async fn refused_origins_cannot_write_the_log() {
    use tokio::io::AsyncWriteExt;
    bounded(async {
        let server = guide(&[]).await;
        let addr = server.addr();
        let origin = format!("Origin: http://{}.example\r\n", "a".repeat(15_000));
        let request = nagare_testkit::wire::go_upgrade_request(addr, "/echo", &origin);
        for _ in 0..500 {
            let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
            tcp.write_all(request.as_bytes()).await.expect("request");
            let response = nagare_testkit::wire::read_response(&mut tcp).await;
            assert!(response.starts_with("HTTP/1.1 403"), "{response}");
            // The answer does not echo the whole header either.
            assert!(response.len() < 2048, "a 403 of {} bytes", response.len());
        }
        // A stream that fails marks the log's end: every line before it has
        // been read once it is. (An invalid message, sent raw: the typed
        // client would refuse to send it.)
        let upgrade = nagare_testkit::wire::go_upgrade_request(addr, "/echo", "");
        let (mut tcp, head) = nagare_testkit::wire::send_head(addr, &upgrade).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let invalid =
            nagare_testkit::wire::frame(nagare_testkit::wire::TEXT, true, br#"{"message":""}"#);
        tcp.write_all(&invalid).await.expect("send");
        let (_, opcode, _) = nagare_testkit::wire::read_frame(&mut tcp).await;
        assert_eq!(opcode, nagare_testkit::wire::CLOSE);
        server.log_lines("service method failed", 1).await;
        let log = server.log();
        let refused: Vec<&String> = log
            .iter()
            .filter(|l| l.contains("refused origin"))
            .collect();
        // Ten lines a minute, each cut: 7.5 MB of Origin headers write a
        // few KB of log.
        assert!(refused.len() <= 10, "{} lines", refused.len());
        assert!(refused.iter().all(|l| l.len() < 1024), "{refused:?}");
        let bytes: usize = log.iter().map(String::len).sum();
        assert!(bytes < 32 * 1024, "{bytes} bytes of log");
        // A bystander is served.
        let mut bystander = Client::new(server.base()).echo().await.expect("echo");
        let hello = chat::EchoStreamingPayload {
            message: "still here".into(),
        };
        bystander.send(&hello).await.expect("send");
        assert_eq!(
            bystander.recv().await.expect("echo").map(|m| m.message),
            Some(hello.message)
        );
    })
    .await;
}
