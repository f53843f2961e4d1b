//! Graceful shutdown: every connection is asked to close with 1001 and the server
//! waits for them, within a deadline.

mod support;

use std::time::{Duration, Instant};

use nagare::{ClientStream, ConnConfig, ServerOptions, ServerStream, StreamError};
use support::{bounded, serve};

/// 1,000 connections need about 2,000 descriptors in this one process.
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_a_thousand_connections_with_1001_within_the_deadline() {
    raise_fd_limit();
    bounded(async {
        let options = ServerOptions::new();
        let addr = serve(options.clone(), |conn| async move {
            // Waits for events that never come, watching for the end of the stream.
            let s = ServerStream::<i64>::new(conn, None);
            s.closed().await;
            Ok::<_, StreamError>(())
        })
        .await;
        let base = format!("http://{addr}");
        let mut clients = Vec::with_capacity(1000);
        for _ in 0..1000 {
            let (conn, _) = nagare::Request::new("/s".into())
                .dial(&base, &ConnConfig::default())
                .await
                .expect("dial");
            clients.push(ClientStream::<i64>::new(conn, None));
        }
        let started = Instant::now();
        let report = options.shutdown_gracefully(Duration::from_secs(10)).await;
        let took = started.elapsed();
        assert_eq!(
            report.abandoned, 0,
            "every connection ended within the deadline"
        );
        assert!(took < Duration::from_secs(10), "{took:?}");
        for mut c in clients {
            match c.recv().await {
                Err(StreamError::Closed { code, reason }) => {
                    assert_eq!((code, reason.as_str()), (1001, "server shutting down"));
                }
                other => panic!("expected close 1001, got {other:?}"),
            }
        }
        // New upgrades are refused while shutting down.
        match nagare::Request::new("/s".into())
            .dial(&base, &ConnConfig::default())
            .await
        {
            Err(nagare::ClientError::Refused { status, .. }) => assert_eq!(status, 503),
            other => panic!("expected 503, got {:?}", other.map(|_| ())),
        }
    })
    .await;
}

#[tokio::test]
async fn a_method_that_ignores_shutdown_is_abandoned_at_the_deadline() {
    bounded(async {
        let mut options = ServerOptions::new();
        options.conn.cancel_grace = Duration::from_secs(60);
        let addr = serve(options.clone(), |conn| async move {
            let _s = ServerStream::<i64>::new(conn, None);
            std::future::pending::<()>().await;
            Ok::<_, StreamError>(())
        })
        .await;
        let conn = support::dial(addr).await;
        let mut client = ClientStream::<i64>::new(conn, None);
        let report = options
            .shutdown_gracefully(Duration::from_millis(200))
            .await;
        assert_eq!(report.abandoned, 1);
        // The client was still told.
        assert!(matches!(
            client.recv().await,
            Err(StreamError::Closed { code: 1001, .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn serve_returns_once_shutdown_has_closed_every_connection() {
    bounded(async {
        let options = ServerOptions::new();
        let app = support::router(options.clone(), |conn| async move {
            let s = ServerStream::<i64>::new(conn, None);
            s.closed().await;
            Ok::<_, StreamError>(())
        });
        let listener = nagare::server::Listener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let serving = {
            let options = options.clone();
            tokio::spawn(async move { options.serve(listener, app, Duration::from_secs(5)).await })
        };
        let conn = support::dial(addr).await;
        let mut client = ClientStream::<i64>::new(conn, None);
        options.shutdown.cancel();
        match client.recv().await {
            Err(StreamError::Closed { code, reason }) => {
                assert_eq!((code, reason.as_str()), (1001, "server shutting down"))
            }
            other => panic!("expected 1001, got {other:?}"),
        }
        let report = serving.await.expect("task").expect("serve");
        assert_eq!(report.abandoned, 0);
    })
    .await;
}
