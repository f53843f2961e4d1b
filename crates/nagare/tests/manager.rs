//! The connection manager: live connections are listed with their counters,
//! closed one by one or by predicate, sent to, and removed however they end.

mod support;

use nagare::{
    BidiClientStream, BidiServerStream, ClientStream, ConnConfig, Priority, ServerOptions,
    ServerStream, StreamError,
};
use support::{bounded, serve};

async fn echo_server(options: ServerOptions) -> String {
    let addr = serve(options, |conn| async move {
        let mut s = BidiServerStream::<String, String>::new(conn, None);
        while let Some(m) = s.recv().await? {
            s.send(&m).await?;
        }
        Ok::<_, StreamError>(())
    })
    .await;
    format!("http://{addr}")
}

async fn dial(base: &str) -> nagare::Conn {
    nagare::Request::new("/s".into())
        .dial(base, &ConnConfig::default())
        .await
        .expect("dial")
        .0
}

/// Waits until the manager shows `n` connections; registration happens in the
/// connection's task, just after the client's handshake completes.
async fn until_len(options: &ServerOptions, n: usize) {
    while options.connections.len() != n {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn connections_are_listed_with_counters_and_removed_when_they_end() {
    bounded(async {
        let options = ServerOptions::new();
        let base = echo_server(options.clone()).await;
        let mut a = BidiClientStream::<String, String>::new(dial(&base).await, None);
        let b = BidiClientStream::<String, String>::new(dial(&base).await, None);
        until_len(&options, 2).await;
        for m in ["one", "two"] {
            a.send(&m.to_owned()).await.expect("send");
            a.recv().await.expect("recv");
        }
        let list = options.connections.list();
        assert_eq!(list.len(), 2);
        let first = &list[0];
        assert_eq!((first.service, first.method), ("test", "test"));
        assert_eq!((first.messages_in, first.messages_out), (2, 2));
        assert_eq!(
            first.bytes_in,
            "\"one\"\n".len() as u64 + "\"two\"\n".len() as u64
        );
        assert_eq!(list[1].messages_in, 0);
        // Ended by the client, ended by dropping: both are removed.
        a.close().await.expect("close");
        assert_eq!(a.recv().await.expect("end"), None);
        drop(b);
        until_len(&options, 0).await;
    })
    .await;
}

#[tokio::test]
async fn a_method_that_panics_is_removed_and_the_others_go_on() {
    bounded(async {
        let options = ServerOptions::new();
        let addr = serve(options.clone(), |conn| async move {
            let mut s = BidiServerStream::<String, String>::new(conn, None);
            while let Some(m) = s.recv().await? {
                if m == "panic" {
                    panic!("a bug in a service method");
                }
                s.send(&m).await?;
            }
            Ok::<_, StreamError>(())
        })
        .await;
        let base = format!("http://{addr}");
        let mut calm = BidiClientStream::<String, String>::new(dial(&base).await, None);
        let mut doomed = BidiClientStream::<String, String>::new(dial(&base).await, None);
        until_len(&options, 2).await;
        doomed.send(&"panic".to_owned()).await.expect("send");
        // The task unwinds, its guard leaves the table, the socket closes.
        until_len(&options, 1).await;
        let cut = doomed.recv().await.expect_err("the stream ends in error");
        assert!(matches!(cut, StreamError::ConnectionLost { .. }), "{cut:?}");
        calm.send(&"still here".to_owned()).await.expect("send");
        assert_eq!(
            calm.recv().await.expect("recv").as_deref(),
            Some("still here")
        );
        assert_eq!(options.connections.list().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn close_one_by_predicate_or_all() {
    bounded(async {
        let options = ServerOptions::new();
        let base = echo_server(options.clone()).await;
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(ClientStream::<String>::new(dial(&base).await, None));
        }
        until_len(&options, 4).await;
        let ids: Vec<u64> = options.connections.list().iter().map(|c| c.id).collect();
        assert!(options.connections.close(ids[0], 4001, "kicked"));
        assert_eq!(
            options
                .connections
                .close_where(|c| c.id == ids[1] || c.id == ids[2], 1001, "moved"),
            2
        );
        assert_eq!(options.connections.close_all(1001, "bye"), 4);
        let mut codes = Vec::new();
        for mut c in clients {
            match c.recv().await {
                Err(StreamError::Closed { code, reason }) => codes.push((code, reason)),
                other => panic!("expected a close, got {other:?}"),
            }
        }
        codes.sort();
        assert_eq!(codes[0], (1001, "bye".to_owned()));
        assert!(codes.contains(&(4001, "kicked".to_owned())));
        until_len(&options, 0).await;
    })
    .await;
}

#[tokio::test]
async fn broadcast_reaches_the_chosen_connections_in_order() {
    bounded(async {
        let options = ServerOptions::new();
        let addr = serve(options.clone(), |conn| async move {
            let s = ServerStream::<String>::new(conn, None);
            s.closed().await;
            Ok::<_, StreamError>(())
        })
        .await;
        let base = format!("http://{addr}");
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(ClientStream::<String>::new(dial(&base).await, None));
        }
        until_len(&options, 3).await;
        let skip = options.connections.list()[2].id;
        for i in 0..5 {
            let n = options
                .connections
                .broadcast(&format!("news {i}"), Priority::Normal, |c| c.id != skip)
                .expect("encode");
            assert_eq!(n, 2);
        }
        for c in clients.iter_mut().take(2) {
            for i in 0..5 {
                assert_eq!(c.recv().await.expect("recv"), Some(format!("news {i}")));
            }
        }
    })
    .await;
}

#[tokio::test]
async fn queued_messages_are_written_in_batches() {
    bounded(async {
        let options = ServerOptions::new();
        let (report_tx, mut report_rx) = tokio::sync::mpsc::unbounded_channel();
        let manager = options.connections.clone();
        let addr = serve(options.clone(), move |conn| {
            let report = report_tx.clone();
            let manager = manager.clone();
            async move {
                let mut s = ServerStream::<String>::new(conn, None);
                for i in 0..500 {
                    s.send(&i.to_string()).await?;
                }
                // Everything is written before the method returns its stats.
                while s.queued() > 0 {
                    tokio::task::yield_now().await;
                }
                let _ = report.send(manager.list()[0].clone());
                Ok::<_, StreamError>(())
            }
        })
        .await;
        let mut client = ClientStream::<String>::new(dial(&format!("http://{addr}")).await, None);
        let stats = report_rx.recv().await.expect("stats");
        for i in 0..500 {
            assert_eq!(client.recv().await.expect("recv"), Some(i.to_string()));
        }
        assert!(stats.messages_out >= 499, "{stats:?}");
        assert!(
            stats.flushes * 4 < stats.messages_out,
            "messages were not batched: {stats:?}"
        );
    })
    .await;
}
