//! A peer that reads slower than the service writes: memory stays bounded under
//! each slow-consumer policy (measured on the server's queue), and urgent messages
//! overtake queued ones.

mod support;

use std::time::Duration;

use nagare::{ClientStream, Priority, ServerOptions, ServerStream, SlowConsumer, StreamError};
use support::{bounded, raw_upgrade, read_to_end, serve};
use tokio::sync::{mpsc, oneshot};

const QUEUE: usize = 16;

fn options(policy: SlowConsumer) -> ServerOptions {
    let mut o = ServerOptions::new();
    o.conn.outbound_queue = QUEUE;
    o.conn.slow_consumer = policy;
    o.conn.ping_interval = None;
    o.conn.write_timeout = Duration::from_millis(300);
    o.conn.close_timeout = Duration::from_millis(100);
    o
}

/// What the server's method saw: messages it managed to queue, how the sends
/// ended, the queue's high-water mark and the drops.
#[derive(Debug)]
struct Seen {
    sent: usize,
    error: Option<String>,
    high_water: usize,
    dropped: u64,
}

/// Serves a method that sends `count` messages of `size` bytes as fast as it can.
async fn flood(
    policy: SlowConsumer,
    count: usize,
    size: usize,
) -> (std::net::SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let addr = serve(options(policy), move |conn| {
        let report = tx.clone();
        async move {
            let mut s = ServerStream::<String>::new(conn, None).into_sender();
            let mut seen = Seen {
                sent: 0,
                error: None,
                high_water: 0,
                dropped: 0,
            };
            for i in 0..count {
                let mut msg = format!("{i}:");
                msg.push_str(&"x".repeat(size));
                if let Err(e) = s.send(&msg).await {
                    seen.error = Some(e.to_string());
                    break;
                }
                seen.sent += 1;
            }
            seen.high_water = s.queue_high_water();
            seen.dropped = s.dropped();
            let _ = report.send(seen);
            Ok::<_, StreamError>(())
        }
    })
    .await;
    (addr, rx)
}

#[tokio::test]
async fn wait_policy_bounds_the_queue_and_disconnects_a_reader_that_never_reads() {
    bounded(async {
        let (addr, mut seen) = flood(SlowConsumer::Wait, 100_000, 16 * 1024).await;
        let _tcp = raw_upgrade(addr).await;
        let seen = seen.recv().await.expect("report");
        assert!(seen.high_water <= QUEUE + 1, "{seen:?}");
        assert!(seen.sent < 100_000, "the sends were held back: {seen:?}");
        assert_eq!(seen.error.as_deref(), Some("stream closed"), "{seen:?}");
    })
    .await;
}

#[tokio::test]
async fn drop_oldest_never_blocks_the_service_and_keeps_the_latest() {
    bounded(async {
        let (addr, mut seen) = flood(SlowConsumer::DropOldest, 20_000, 4 * 1024).await;
        let mut tcp = raw_upgrade(addr).await;
        let seen = seen.recv().await.expect("report");
        assert_eq!(seen.sent, 20_000, "no send waited or failed: {seen:?}");
        assert!(seen.high_water <= QUEUE, "{seen:?}");
        assert!(seen.dropped > 0, "{seen:?}");
        // Everything that was not dropped arrives, ending with the latest message.
        let bytes = read_to_end(&mut tcp).await;
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("\"19999:"), "the newest message survives");
    })
    .await;
}

#[tokio::test]
async fn disconnect_policy_closes_with_1013() {
    bounded(async {
        let (addr, mut seen) = flood(SlowConsumer::Disconnect(1013), 100_000, 16 * 1024).await;
        let mut tcp = raw_upgrade(addr).await;
        let seen = seen.recv().await.expect("report");
        assert_eq!(seen.error.as_deref(), Some("stream closed"), "{seen:?}");
        assert!(seen.high_water <= QUEUE, "{seen:?}");
        let bytes = read_to_end(&mut tcp).await;
        let reason = b"slow consumer: send queue full";
        let at = bytes
            .windows(reason.len())
            .position(|w| w == reason)
            .expect("a close frame with the reason");
        assert_eq!(&bytes[at - 2..at], &1013u16.to_be_bytes());
    })
    .await;
}

#[tokio::test]
async fn urgent_messages_overtake_queued_ones() {
    bounded(async {
        let (queued_tx, queued_rx) = oneshot::channel::<usize>();
        let queued_tx = std::sync::Arc::new(std::sync::Mutex::new(Some(queued_tx)));
        let mut opts = options(SlowConsumer::Wait);
        opts.conn.outbound_queue = 64;
        // Room for the 32 messages of 64 KiB below (2 MiB).
        opts.conn.outbound_bytes = 4 * 1024 * 1024;
        opts.conn.write_timeout = Duration::from_secs(10);
        let addr = serve(opts, move |conn| {
            let report = queued_tx.clone();
            async move {
                let mut s = ServerStream::<String>::new(conn, None);
                let big = "n".repeat(64 * 1024);
                // Fill the queue behind a peer that is not reading yet.
                let mut i = 0;
                while s.queued() < 32 {
                    s.send(&format!("{i}:{big}")).await?;
                    i += 1;
                }
                let queued = s.queued();
                s.send_with_priority(&"urgent".to_owned(), Priority::Urgent)
                    .await?;
                if let Some(tx) = report.lock().ok().and_then(|mut r| r.take()) {
                    let _ = tx.send(queued);
                }
                Ok::<_, StreamError>(())
            }
        })
        .await;
        let conn = support::dial(addr).await;
        let mut client = ClientStream::<String>::new(conn, None);
        // Read nothing until the server has queued its backlog and the urgent one.
        let queued = queued_rx.await.expect("the server queued");
        let mut after_urgent = None;
        while let Some(m) = client.recv().await.expect("recv") {
            match (&mut after_urgent, m.as_str()) {
                (None, "urgent") => after_urgent = Some(0),
                (Some(n), _) => *n += 1,
                (None, _) => {}
            }
        }
        let after = after_urgent.expect("the urgent message arrived");
        assert!(
            after >= queued,
            "urgent overtook {after} of the {queued} queued messages"
        );
    })
    .await;
}
