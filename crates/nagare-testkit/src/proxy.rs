//! A TCP proxy on 127.0.0.1 that puts faults between a client and a server: it
//! cuts every connection on demand, refuses new ones, or freezes the ones open
//! (they stay open but carry nothing, as when a peer dies without a word).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A fault-injecting proxy. Dropping it stops accepting and cuts every
/// connection.
pub struct Proxy {
    addr: SocketAddr,
    control: Arc<Control>,
    accepted: watch::Receiver<u64>,
    stop: CancellationToken,
}

struct Control {
    upstream: Mutex<SocketAddr>,
    /// Cancelled to cut the connections open now; replaced by a fresh one.
    cut: Mutex<CancellationToken>,
    /// Cancelled to freeze the connections open now; replaced by a fresh one.
    freeze: Mutex<CancellationToken>,
    refuse: std::sync::atomic::AtomicBool,
}

fn current(token: &Mutex<CancellationToken>) -> CancellationToken {
    token
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

fn fire(token: &Mutex<CancellationToken>) {
    let old = std::mem::take(
        &mut *token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    old.cancel();
}

impl Proxy {
    /// A proxy to `upstream` on a fresh loopback port.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy on loopback");
        let addr = listener.local_addr().expect("proxy address");
        let control = Arc::new(Control {
            upstream: Mutex::new(upstream),
            cut: Mutex::new(CancellationToken::new()),
            freeze: Mutex::new(CancellationToken::new()),
            refuse: std::sync::atomic::AtomicBool::new(false),
        });
        let (count, accepted) = watch::channel(0u64);
        let stop = CancellationToken::new();
        tokio::spawn(accept_loop(listener, control.clone(), count, stop.clone()));
        Proxy {
            addr,
            control,
            accepted,
            stop,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://` URL of the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes every connection open now, both sides, without a WebSocket
    /// closing handshake.
    pub fn cut(&self) {
        fire(&self.control.cut);
    }

    /// Stops forwarding on every connection open now, without closing them: a
    /// peer that vanished. New connections are forwarded as usual.
    pub fn freeze(&self) {
        fire(&self.control.freeze);
    }

    /// While on, new connections are accepted and closed at once.
    pub fn refuse(&self, on: bool) {
        self.control
            .refuse
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Sends new connections to `upstream`.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self
            .control
            .upstream
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = upstream;
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        *self.accepted.borrow()
    }

    /// Waits until at least `n` connections were accepted.
    pub async fn wait_accepted(&self, n: u64) {
        let mut rx = self.accepted.clone();
        let _ = rx.wait_for(|c| *c >= n).await;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.cut();
    }
}

async fn accept_loop(
    listener: TcpListener,
    control: Arc<Control>,
    count: watch::Sender<u64>,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((client, _)) = accepted else { continue };
        count.send_modify(|c| *c += 1);
        if control.refuse.load(std::sync::atomic::Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let upstream = *control
            .upstream
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cut = current(&control.cut);
        let freeze = current(&control.freeze);
        tokio::spawn(forward(client, upstream, cut, freeze));
    }
}

/// Copies bytes both ways until either side closes, the connection is cut, or
/// it is frozen (then it holds both sockets, silent, until cut).
async fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    cut: CancellationToken,
    freeze: CancellationToken,
) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    tokio::select! {
        () = cut.cancelled() => {}
        () = freeze.cancelled() => cut.cancelled().await,
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
    }
}
