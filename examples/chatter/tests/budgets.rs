//! What a peer can make a chatter server keep, tried as an attacker would
//! against the `chatter` binary with its default settings: each attack stays
//! within a stated bound of the process's resident memory (from `/proc`), and
//! a bystander is served throughout (`docs/hostile-input.md`, "Memory a peer
//! can make the server keep").

mod common;

use chatter::chatter::{self as api, client::Client};
use common::{bounded, login};
use nagare_testkit::process::ServerProcess;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const MIB: u64 = 1024 * 1024;

/// Starts `chatter` on a free loopback port with `flags`, its memory measured.
async fn chatter(flags: &[&str]) -> ServerProcess {
    let mut args = vec![
        "--addr",
        "127.0.0.1:0",
        "--jwt-key",
        "a key of the tests, at least 32 bytes long",
    ];
    args.extend_from_slice(flags);
    ServerProcess::start_measured(env!("CARGO_BIN_EXE_chatter"), &args).await
}

/// Publishes `count` messages of `bytes` bytes each through `/listener`, and
/// waits until the server has published them all.
async fn publish(base: &str, token: &str, count: usize, bytes: usize) {
    let mut listener = Client::new(base)
        .listener(&api::ListenerPayload {
            token: token.to_owned(),
        })
        .await
        .expect("listener");
    let text = "x".repeat(bytes);
    for _ in 0..count {
        listener.send(&text).await.expect("send");
    }
    listener.close().await.expect("every message published");
}

/// A `/history` upgrade that reads its 101 and one message, then never reads
/// again (its receive buffer kept small, so the server's queue fills).
async fn stalled_history(addr: SocketAddr, token: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut tcp = socket.connect(addr).await.expect("connect");
    let request = nagare_testkit::wire::go_upgrade_request(
        addr,
        "/history",
        &format!("Authorization: Bearer {token}\r\n"),
    );
    tcp.write_all(request.as_bytes()).await.expect("upgrade");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await.expect("response head"));
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // One byte of the first message: the method is sending.
    tcp.read_u8().await.expect("a first message");
    tcp
}

/// A client that echoes once on `/echoer`: the server still serves.
async fn bystander_echoes(base: &str, token: &str) {
    let mut echoer = Client::new(base)
        .echoer(&api::EchoerPayload {
            token: token.to_owned(),
        })
        .await
        .expect("the bystander connects");
    echoer.send(&"still here".to_owned()).await.expect("send");
    assert_eq!(
        echoer.recv().await.expect("echo").as_deref(),
        Some("still here")
    );
}

#[tokio::test]
async fn history_readers_that_never_read_hold_no_copy_of_the_room() {
    bounded(async {
        let server = chatter(&[]).await;
        let (addr, base) = (server.addr(), server.base());
        let token = login(&base).await;
        // 400 messages of 60 KiB (24 MB), past the room's 16 MiB budget.
        publish(&base, &token, 400, 60 * 1024).await;
        let before = server.settled_memory().await;
        server.reset_peak();
        // As many readers as history reads may run at once (16), each stuck
        // with its queue full.
        let mut stalled = Vec::new();
        for _ in 0..16 {
            stalled.push(stalled_history(addr, &token).await);
        }
        let after = server.settled_memory().await;
        // One more is told to come back later, before it holds anything.
        let mut refused = Client::new(&base)
            .history(&api::HistoryPayload {
                token: token.clone(),
                view: None,
            })
            .await
            .expect("the upgrade");
        match refused.recv().await {
            Err(nagare::StreamError::Closed { code, reason }) => {
                assert_eq!(code, 1013, "{reason}");
                assert!(reason.contains("16 history reads"), "{reason}");
            }
            other => panic!("1013 expected, got {other:?}"),
        }
        bystander_echoes(&base, &token).await;
        // Each reader holds the room's frames (shared, already counted) and
        // its outbound queue, full at 1 MiB (and one message past it): 16
        // MiB for 16 readers. A copy of the room per reader would be 16 x 16
        // MiB; queues full by count alone, 16 x 64 x 60 KiB.
        let grown = after.peak.saturating_sub(before.rss);
        assert!(
            grown < 32 * MIB,
            "16 stalled history readers grew the server by {} MiB (before {before:?}, after {after:?})",
            grown / MIB
        );
        drop(stalled);
    })
    .await;
}

/// Sends `count` messages of `bytes` bytes on `/summary` and returns how the
/// stream ended: its close (code and reason), or the summary's length.
async fn summarize(
    base: &str,
    token: &str,
    count: usize,
    bytes: usize,
) -> Result<usize, (u16, String)> {
    let mut summary = Client::new(base)
        .summary(&api::SummaryPayload {
            token: token.to_owned(),
        })
        .await
        .expect("summary");
    let text = "y".repeat(bytes);
    let mut failed = None;
    for _ in 0..count {
        if let Err(e) = summary.send(&text).await {
            failed = Some(e);
            break;
        }
    }
    let ended = match failed {
        Some(e) => Err(e),
        None => summary.close_and_recv().await.map(|s| s.len()),
    };
    ended.map_err(|e| match e {
        nagare::StreamError::Closed { code, reason } => (code, reason),
        other => panic!("a close expected, got {other:?}"),
    })
}

#[tokio::test]
async fn a_summary_covers_a_bounded_stream_and_says_so_past_it() {
    bounded(async {
        let server = chatter(&[]).await;
        let base = server.base();
        let token = login(&base).await;
        let before = server.settled_memory().await;
        server.reset_peak();
        let too_long = (
            4000,
            "too-long: a summary covers at most 1000 messages and 1048576 bytes".to_owned(),
        );
        // 1,000 messages are summarised; one more is refused by design.
        assert_eq!(summarize(&base, &token, 1000, 10).await, Ok(1000));
        assert_eq!(
            summarize(&base, &token, 1001, 10).await,
            Err(too_long.clone())
        );
        // So is the 17th message of 64,000 bytes (past 1 MiB of text).
        assert_eq!(summarize(&base, &token, 17, 64_000).await, Err(too_long));
        // A message over 64 KiB is refused before it is read whole.
        let (code, reason) = summarize(&base, &token, 1, 70_000)
            .await
            .expect_err("too big");
        assert_eq!(code, 1009, "{reason}");
        bystander_echoes(&base, &token).await;
        // A summary holds at most 1 MiB of text (and its summaries); the
        // room keeps what was published, under its budget.
        let after = server.settled_memory().await;
        let grown = after.peak.saturating_sub(before.rss);
        assert!(
            grown < 16 * MIB,
            "bounded summaries grew the server by {} MiB (before {before:?}, after {after:?})",
            grown / MIB
        );
    })
    .await;
}

#[tokio::test]
async fn who_answers_a_bounded_page_however_many_subscribe() {
    bounded(async {
        let server = chatter(&[]).await;
        let (addr, base) = (server.addr(), server.base());
        let token = login(&base).await;
        let client = Client::new(&base);
        // A name is at most 64 characters: a longer one is refused before
        // the upgrade.
        let long = client
            .subscribe(&api::SubscribePayload {
                token: token.clone(),
                name: Some("n".repeat(65)),
            })
            .await
            .expect_err("refused");
        assert!(long.to_string().contains("name"), "{long}");
        // 150 subscribers with the longest names.
        let mut subscribers = Vec::new();
        for i in 0..150 {
            let mut sub = client
                .subscribe(&api::SubscribePayload {
                    token: token.clone(),
                    name: Some(format!("{i:0>64}")),
                })
                .await
                .expect("subscribe");
            // The position frame or nothing: the subscriber is in the room
            // once its method runs; `who` below waits for all of them.
            subscribers.push(tokio::spawn(async move { while let Ok(Some(_)) = sub.recv().await {} }));
        }
        let who = |after: Option<String>, limit: i64| {
            let client = Client::new(&base);
            let token = token.clone();
            async move {
                client
                    .who(&api::WhoPayload {
                        token,
                        after,
                        limit,
                    })
                    .await
                    .expect("who")
            }
        };
        let mut all = Vec::new();
        while all.len() < 150 {
            all = who(None, 1000).await;
        }
        // The default page is 100 subscribers, sorted by id; the next page
        // starts after the last id.
        let first = who(None, 100).await;
        assert_eq!(first.len(), 100);
        let second = who(first.last().map(|s| s.id.clone()), 100).await;
        assert_eq!(second.len(), 50);
        let ids: Vec<String> = first.iter().chain(&second).map(|s| s.id.clone()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
        // The page's size on the wire, default limit: ~100 x 110 bytes.
        let request = format!(
            "GET /who HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        );
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(request.as_bytes()).await.expect("request");
        let response = nagare_testkit::wire::read_response(&mut tcp).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.len() < 16 * 1024, "a page of {} bytes", response.len());
        // A limit past 1,000 is refused.
        let request = format!(
            "GET /who?limit=5000 HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        );
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(request.as_bytes()).await.expect("request");
        let response = nagare_testkit::wire::read_response(&mut tcp).await;
        assert!(response.starts_with("HTTP/1.1 400"), "{response}");
        bystander_echoes(&base, &token).await;
        for s in subscribers {
            s.abort();
        }
    })
    .await;
}

/// Asks `/login` on `tcp` (kept alive) with Basic `credentials` (base64);
/// the status and the whole response.
async fn login_on(tcp: &mut TcpStream, addr: SocketAddr, credentials: &str) -> (u16, String) {
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {credentials}\r\nContent-Length: 0\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.expect("request");
    let response = nagare_testkit::wire::read_response(tcp).await;
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    (status, response)
}

#[tokio::test]
async fn guessing_passwords_is_braked_and_logged_once_per_burst() {
    bounded(async {
        let server = chatter(&[]).await;
        let addr = server.addr();
        let warned = server.log_lines("default password", 1).await;
        assert!(warned[0].contains("WARN"), "{warned:?}");
        // 300 wrong passwords on one keep-alive connection ("goa:wrong").
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let mut statuses = Vec::new();
        for _ in 0..300 {
            let (status, response) = login_on(&mut tcp, addr, "Z29hOndyb25n").await;
            if status == 429 {
                assert!(
                    response.to_ascii_lowercase().contains("retry-after: "),
                    "{response}"
                );
                assert!(response.contains("too many failed attempts"), "{response}");
            }
            statuses.push(status);
        }
        // The burst of five is checked; every other guess is refused unchecked.
        assert_eq!(statuses[..5], [401; 5]);
        assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
        // The right password is braked too, from this address and for this
        // user, until a token comes back ("goa:rocks").
        assert_eq!(login_on(&mut tcp, addr, "Z29hOnJvY2tz").await.0, 429);
        // Someone else, elsewhere, is not ("eve:wrong" from 127.0.0.2).
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 2], 0)))
            .expect("bind a loopback source");
        let mut other = socket.connect(addr).await.expect("connect");
        assert_eq!(login_on(&mut other, addr, "ZXZlOndyb25n").await.0, 401);
        // One line per key when its refusals begin (the address, the user),
        // not one per refusal. A refused origin marks the log's end: every
        // line before it has been read once it is.
        let mut marker = TcpStream::connect(addr).await.expect("connect");
        let upgrade = nagare_testkit::wire::go_upgrade_request(
            addr,
            "/echoer",
            "Origin: http://marker.invalid\r\n",
        );
        marker.write_all(upgrade.as_bytes()).await.expect("upgrade");
        let refused = nagare_testkit::wire::read_response(&mut marker).await;
        assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
        server.log_lines("marker.invalid", 1).await;
        let lines: Vec<String> = server
            .log()
            .into_iter()
            .filter(|l| l.contains("repeated failures"))
            .collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
    })
    .await;
}
