//! A real Redis for a test: Debian's `redis-server`, started on a free loopback
//! port in a temporary directory with `appendonly yes`, owned by the test
//! (stopped when dropped), and able to restart on the same port and data.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// A `redis-server` process of the test's own.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// How to get Redis when it is missing, for the failure message.
const HOW_TO_GET_IT: &str = "redis-server is not installed: install Debian's package \
(`apt-get install redis-server`), or run scripts/test, which installs it";

impl RedisServer {
    /// Starts Redis on a free loopback port, in a fresh temporary directory;
    /// returns once it accepts connections. Panics (failing the test) with
    /// how to install it when `redis-server` is missing.
    pub async fn start() -> RedisServer {
        let dir = std::env::temp_dir().join(format!(
            "nagare-redis-{}-{:x}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).expect("create Redis's directory");
        for _ in 0..5 {
            let port = free_port();
            let mut server = RedisServer {
                port,
                dir: dir.clone(),
                child: None,
            };
            if server.launch().await {
                return server;
            }
        }
        panic!("redis-server did not start on any of 5 free ports (see {dir:?})");
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port Redis listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of the running `redis-server` (for CPU readings).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Runs `redis-server`; `true` once it is ready, `false` if it exited
    /// (its port taken meanwhile).
    async fn launch(&mut self) -> bool {
        let spawned = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--dir",
                &self.dir.to_string_lossy(),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--logfile",
                "",
                "--loglevel",
                "notice",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!("{HOW_TO_GET_IT}"),
            Err(e) => panic!("cannot run redis-server: {e}"),
        };
        let Some(stdout) = child.stdout.take() else {
            panic!("redis-server's output is not piped")
        };
        let mut lines = BufReader::new(stdout).lines();
        // Ready when it says so; its log goes on being drained, so it never
        // blocks on a full pipe.
        let ready = tokio::time::timeout(Duration::from_secs(10), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        if ready {
            self.child = Some(child);
        } else {
            let _ = child.kill().await;
        }
        ready
    }

    /// Runs one command (arguments as given) and returns Redis's raw reply.
    pub async fn command(&self, args: &[&str]) -> String {
        command(self.port, args)
            .await
            .unwrap_or_else(|e| panic!("Redis command {args:?} failed: {e}"))
    }

    /// Shuts Redis down cleanly (its append-only file written), and waits for
    /// the process to end. Clients see the connection close.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The connection closes without a reply when Redis exits.
        let _ = command(self.port, &["SHUTDOWN"]).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        let _ = child.kill().await;
    }

    /// Kills Redis at once (no chance to write anything more).
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts Redis again on the same port and directory: it reloads its
    /// append-only file.
    pub async fn restart(&mut self) {
        self.stop().await;
        assert!(
            self.launch().await,
            "redis-server did not start again on port {}",
            self.port
        );
    }

    /// Starts Redis again after [`stop`](Self::stop) or [`kill`](Self::kill).
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "Redis is still running");
        assert!(
            self.launch().await,
            "redis-server did not start again on port {}",
            self.port
        );
    }

    /// Forgets every key (Redis "lost its data").
    pub async fn flush_all(&self) {
        let reply = self.command(&["FLUSHALL"]).await;
        assert_eq!(reply, "+OK\r\n");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One command over a fresh connection, in RESP; the first reply, raw.
async fn command(port: u16, args: &[&str]) -> std::io::Result<String> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let mut out = format!("*{}\r\n", args.len());
    for a in args {
        out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    tcp.write_all(out.as_bytes()).await?;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no reply"))??;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    h.finish()
}
