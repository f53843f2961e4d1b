//! The runtime on its own: hand-written endpoints over real sockets, checking the
//! stream semantics generated code relies on.

mod support;

use std::time::Duration;

use nagare::{
    BidiClientStream, BidiServerStream, ClientSendResultStream, ClientStream, ConnConfig, Request,
    ServerOptions, ServerRecvResultStream, ServerStream, StreamError,
};
use support::{bounded, serve};

/// Doubles every number it receives.
async fn echo() -> String {
    let addr = serve(ServerOptions::new(), |conn| async move {
        let mut s = BidiServerStream::<i64, i64>::new(conn, None);
        while let Some(n) = s.recv().await? {
            s.send(&(n * 2)).await?;
        }
        Ok::<_, StreamError>(())
    })
    .await;
    format!("http://{addr}")
}

/// Streams 1 to 1000.
async fn count() -> String {
    let addr = serve(ServerOptions::new(), |conn| async move {
        let mut s = ServerStream::<i64>::new(conn, None);
        for i in 1..=1000 {
            s.send(&i).await?;
        }
        Ok::<_, StreamError>(())
    })
    .await;
    format!("http://{addr}")
}

/// Answers the sum of what it received.
async fn sum() -> String {
    let addr = serve(ServerOptions::new(), |conn| async move {
        let mut s = ServerRecvResultStream::<i64, i64>::new(conn, None);
        let mut total = 0;
        while let Some(n) = s.recv().await? {
            total += n;
        }
        s.send_and_close(&total).await
    })
    .await;
    format!("http://{addr}")
}

async fn dial(base: &str, path: &str) -> nagare::Conn {
    Request::new(path.to_owned())
        .dial(base, &ConnConfig::default())
        .await
        .expect("dial")
        .0
}

#[tokio::test]
async fn bidirectional_round_trip_and_half_close() {
    bounded(async {
        let base = echo().await;
        let mut s = BidiClientStream::<i64, i64>::new(dial(&base, "/s").await, None);
        for i in 0..100 {
            s.send(&i).await.expect("send");
        }
        s.close().await.expect("close");
        for i in 0..100 {
            assert_eq!(s.recv().await.expect("recv"), Some(i * 2));
        }
        assert_eq!(s.recv().await.expect("end"), None);
        assert_eq!(s.recv().await.expect("still end"), None);
    })
    .await;
}

#[tokio::test]
async fn invalid_message_closes_with_1007() {
    bounded(async {
        let base = echo().await;
        let mut s = BidiClientStream::<String, i64>::new(dial(&base, "/s").await, None);
        s.send(&"not a number".to_owned()).await.expect("send");
        match s.recv().await {
            Err(StreamError::Closed { code, reason }) => {
                assert_eq!(code, 1007);
                assert!(reason.starts_with("invalid message:"), "{reason}");
            }
            other => panic!("expected close 1007, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn a_send_after_the_server_closed_reports_how_it_closed() {
    bounded(async {
        let base = echo().await;
        let mut s = BidiClientStream::<String, i64>::new(dial(&base, "/s").await, None);
        s.send(&"not a number".to_owned()).await.expect("send");
        let closed = s.recv().await.expect_err("closed with 1007");
        // The same error, every time, not a send that seems to work.
        for _ in 0..2 {
            match s.send(&"more".to_owned()).await {
                Err(StreamError::Closed { code, reason }) => {
                    assert_eq!(code, 1007);
                    assert_eq!(
                        closed.to_string(),
                        StreamError::Closed { code, reason }.to_string()
                    );
                }
                other => panic!("the close expected, got {other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn server_stream_delivers_everything_then_ends() {
    bounded(async {
        let base = count().await;
        let mut s = ClientStream::<i64>::new(dial(&base, "/s").await, None);
        for i in 1..=1000 {
            assert_eq!(s.recv().await.expect("recv"), Some(i));
        }
        assert_eq!(s.recv().await.expect("end"), None);
    })
    .await;
}

#[tokio::test]
async fn client_stream_with_result() {
    bounded(async {
        let base = sum().await;
        let mut s = ClientSendResultStream::<i64, i64>::new(dial(&base, "/s").await, None);
        for i in 1..=10 {
            s.send(&i).await.expect("send");
        }
        assert_eq!(s.close_and_recv().await.expect("result"), 55);
    })
    .await;
}

#[tokio::test]
async fn plain_get_is_refused_before_upgrade() {
    bounded(async {
        let base = echo().await;
        let addr = base.trim_start_matches("http://");
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        tcp.write_all(b"GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut out = String::new();
        tcp.read_to_string(&mut out).await.expect("read");
        assert!(out.starts_with("HTTP/1.1 426"), "{out}");
        assert!(out.contains("\"name\":\"bad_request\""), "{out}");
    })
    .await;
}

/// Signals when dropped: proves a service method's future was dropped.
struct DropSignal(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

#[tokio::test]
async fn a_method_that_ignores_a_vanished_client_is_cancelled_after_the_grace() {
    bounded(async {
        let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel();
        let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(dropped_tx)));
        let mut options = ServerOptions::new();
        options.conn.cancel_grace = Duration::from_millis(50);
        let addr = serve(options, move |conn| {
            let signal = DropSignal(slot.lock().ok().and_then(|mut s| s.take()));
            async move {
                let _signal = signal;
                let _stream = ServerStream::<i64>::new(conn, None);
                // Waits for an event that never comes, without watching the stream.
                std::future::pending::<()>().await;
                Ok::<_, StreamError>(())
            }
        })
        .await;
        let conn = dial(&format!("http://{addr}"), "/s").await;
        let stream = ClientStream::<i64>::new(conn, None);
        drop(stream);
        dropped_rx.await.expect("the method's future was dropped");
    })
    .await;
}

#[tokio::test]
async fn split_halves_are_a_sink_and_a_stream() {
    use futures_util::{SinkExt, StreamExt};
    bounded(async {
        let base = echo().await;
        let (mut tx, rx) = BidiClientStream::<i64, i64>::new(dial(&base, "/s").await, None).split();
        let mut input = futures_util::stream::iter((1..=50).map(Ok));
        tx.send_all(&mut input).await.expect("send_all");
        SinkExt::close(&mut tx).await.expect("close sends null");
        let doubled: Vec<i64> = rx.map(|r| r.expect("message")).collect().await;
        assert_eq!(doubled, (1..=50).map(|n| n * 2).collect::<Vec<_>>());
    })
    .await;
}
