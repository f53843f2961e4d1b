//! A server binary run as an operator would run it: started with flags, its
//! address read from its log, killed or stopped like a real process.

use std::net::SocketAddr;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running server process.
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    /// Runs `binary` with `args` (which must make it listen on a loopback
    /// address, port 0 for a free one) and waits for the log line that gives
    /// its address (`addr=<ip:port>`). `NAGARE_REDIS_URL` is not passed on:
    /// a test says which broker it wants.
    pub async fn start(binary: &str, args: &[&str]) -> ServerProcess {
        let mut child = Command::new(binary)
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("NAGARE_REDIS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {binary}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines
                .next_line()
                .await
                .expect("the server's output")
                .unwrap_or_else(|| panic!("{binary} ended before logging its address"));
            if let Some(rest) = line.split("addr=").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                break addr
                    .parse()
                    .unwrap_or_else(|e| panic!("{addr:?} is not an address: {e}"));
            }
        };
        // The log is drained so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServerProcess { child, addr }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// `http://<addr>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: the process ends without closing anything. Returns its
    /// address, to start another on it.
    pub async fn kill(mut self) -> SocketAddr {
        self.child.kill().await.expect("kill the server");
        self.addr
    }
}
