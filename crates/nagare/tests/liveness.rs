//! Heartbeats, idle and write timeouts: a peer that stops answering, stays silent
//! or stops reading is found and removed, and its service method ends.

mod support;

use std::time::{Duration, Instant};

use nagare::{ConnConfig, ServerOptions, ServerStream, StreamError};
use support::{bounded, raw_upgrade, read_to_end, serve};
use tokio::sync::mpsc;

/// Options with fast liveness timers.
fn options(f: impl FnOnce(&mut ConnConfig)) -> ServerOptions {
    let mut o = ServerOptions::new();
    f(&mut o.conn);
    o
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_closed_within_interval_plus_timeout() {
    bounded(async {
        let (ended_tx, mut ended_rx) = mpsc::unbounded_channel();
        let opts = options(|c| {
            c.ping_interval = Some(Duration::from_millis(100));
            c.pong_timeout = Duration::from_millis(100);
        });
        let addr = serve(opts, move |conn| {
            let ended = ended_tx.clone();
            async move {
                let s = ServerStream::<i64>::new(conn, None);
                s.closed().await;
                let _ = ended.send(Instant::now());
                Ok::<_, StreamError>(())
            }
        })
        .await;
        let started = Instant::now();
        // Handshake, then silence: this peer never reads, so never answers a ping.
        let mut tcp = raw_upgrade(addr).await;
        let sent = read_to_end(&mut tcp).await;
        let gone = started.elapsed();
        let ended = ended_rx
            .recv()
            .await
            .expect("the method saw the connection end");
        // A ping (0x89) went out, then a close 1001 `ping timeout`, then TCP closed.
        assert_eq!(sent.first(), Some(&0x89), "{sent:?}");
        let close_at = sent
            .windows(2)
            .position(|w| w == [0x88, 14])
            .expect("a close frame");
        assert_eq!(&sent[close_at + 2..close_at + 4], &1001u16.to_be_bytes());
        assert_eq!(&sent[close_at + 4..close_at + 16], b"ping timeout");
        assert!(
            gone >= Duration::from_millis(200),
            "not before interval + timeout: {gone:?}"
        );
        assert!(
            gone < Duration::from_millis(1500),
            "found within interval + timeout (+ slack): {gone:?}"
        );
        assert!(ended.duration_since(started) < Duration::from_millis(1500));
    })
    .await;
}

#[tokio::test]
async fn a_peer_that_answers_pings_stays_connected() {
    bounded(async {
        let opts = options(|c| {
            c.ping_interval = Some(Duration::from_millis(20));
            c.pong_timeout = Duration::from_millis(40);
        });
        let addr = serve(opts, |conn| async move {
            let mut s = ServerStream::<i64>::new(conn, None);
            // Outlive many ping rounds, then send.
            tokio::time::sleep(Duration::from_millis(300)).await;
            s.send(&7).await
        })
        .await;
        let conn = support::dial(addr).await;
        let mut client = nagare::ClientStream::<i64>::new(conn, None);
        assert_eq!(client.recv().await.expect("still connected"), Some(7));
    })
    .await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_with_1001() {
    bounded(async {
        let opts = options(|c| c.idle_timeout = Some(Duration::from_millis(100)));
        let addr = serve(opts, |conn| async move {
            let s = ServerStream::<i64>::new(conn, None);
            s.closed().await;
            Ok::<_, StreamError>(())
        })
        .await;
        let conn = support::dial(addr).await;
        let mut client = nagare::ClientStream::<i64>::new(conn, None);
        match client.recv().await {
            Err(StreamError::Closed { code, reason }) => {
                assert_eq!((code, reason.as_str()), (1001, "idle timeout"));
            }
            other => panic!("expected close 1001, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn a_peer_that_does_not_read_is_disconnected_after_the_write_timeout() {
    bounded(async {
        let (result_tx, mut result_rx) = mpsc::unbounded_channel();
        let opts = options(|c| {
            c.write_timeout = Duration::from_millis(200);
            c.close_timeout = Duration::from_millis(100);
            c.ping_interval = None;
        });
        let addr = serve(opts, move |conn| {
            let report = result_tx.clone();
            async move {
                let mut s = ServerStream::<String>::new(conn, None);
                let chunk = "x".repeat(64 * 1024);
                let mut sent = 0usize;
                let outcome = loop {
                    if let Err(e) = s.send(&chunk).await {
                        break e;
                    }
                    sent += 1;
                };
                let _ = report.send((sent, outcome.to_string()));
                Ok::<_, StreamError>(())
            }
        })
        .await;
        // Connected, never reading: the socket buffers fill, then writes stall.
        let _tcp = raw_upgrade(addr).await;
        let (sent, error) = result_rx.recv().await.expect("the method's sends failed");
        assert_eq!(error, "stream closed");
        // Bounded: the queue and the socket buffers, not the whole stream.
        assert!(
            sent < 2_000,
            "sent {sent} messages of 64 KiB to a peer that reads nothing"
        );
    })
    .await;
}
