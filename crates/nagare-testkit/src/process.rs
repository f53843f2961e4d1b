//! A server binary run as an operator would run it: started with flags, its
//! address read from its log, killed or stopped like a real process.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A process's resident memory, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    /// Resident now (`VmRSS`).
    pub rss: u64,
    /// The most it has been resident (`VmHWM`): an attack's peak, whenever
    /// it came.
    pub peak: u64,
}

/// A running server process.
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    log: Arc<Log>,
}

/// The last lines of a server's output, and a signal for each new one.
#[derive(Default)]
struct Log {
    lines: Mutex<VecDeque<String>>,
    grew: tokio::sync::Notify,
}

impl Log {
    fn keep(&self, line: String) {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() == LOG_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
        drop(lines);
        self.grew.notify_waiters();
    }

    fn lines(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().cloned().collect()
    }
}

/// Lines of a server's output kept for [`ServerProcess::log`]: the last ones.
const LOG_LINES: usize = 10_000;

impl ServerProcess {
    /// Runs `binary` with `args` (which must make it listen on a loopback
    /// address, port 0 for a free one) and waits for the log line that gives
    /// its address (`addr=<ip:port>`). `NAGARE_REDIS_URL` is not passed on:
    /// a test says which broker it wants.
    pub async fn start(binary: &str, args: &[&str]) -> ServerProcess {
        Self::start_with_env(binary, args, &[]).await
    }

    /// [`start`](Self::start), for a test that measures the server's memory:
    /// its allocator gives blocks of 128 KiB and more back to the system as
    /// soon as they are freed (glibc's threshold fixed, not raised as large
    /// blocks come and go), so the resident memory is what the server keeps
    /// rather than what it once used.
    pub async fn start_measured(binary: &str, args: &[&str]) -> ServerProcess {
        Self::start_with_env(binary, args, &[("MALLOC_MMAP_THRESHOLD_", "131072")]).await
    }

    /// [`start`](Self::start), with `env` added to the server's environment.
    pub async fn start_with_env(
        binary: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> ServerProcess {
        let mut child = Command::new(binary)
            .args(args)
            .envs(env.iter().copied())
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
        let log = Arc::new(Log::default());
        let addr = loop {
            let line = lines
                .next_line()
                .await
                .expect("the server's output")
                .unwrap_or_else(|| panic!("{binary} ended before logging its address"));
            log.keep(line.clone());
            if let Some(rest) = line.split("addr=").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                break addr
                    .parse()
                    .unwrap_or_else(|e| panic!("{addr:?} is not an address: {e}"));
            }
        };
        // The log is drained so the server never blocks on a full pipe, and
        // its last lines kept.
        let kept = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                kept.keep(line);
            }
        });
        ServerProcess { child, addr, log }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The last lines the server wrote to its standard output (its log),
    /// up to 10,000.
    pub fn log(&self) -> Vec<String> {
        self.log.lines()
    }

    /// Waits until the log has `count` lines containing `text` (the server
    /// writes a line before it answers, but the test reads it from a pipe);
    /// returns them.
    pub async fn log_lines(&self, text: &str, count: usize) -> Vec<String> {
        loop {
            let grew = self.log.grew.notified();
            let found: Vec<String> = self
                .log
                .lines()
                .into_iter()
                .filter(|l| l.contains(text))
                .collect();
            if found.len() >= count {
                return found;
            }
            grew.await;
        }
    }

    /// The process's memory now, from `/proc/<pid>/status`.
    pub fn memory(&self) -> Memory {
        let pid = self.pid().expect("the server is running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_else(|e| panic!("cannot read the status of process {pid}: {e}"));
        let kib = |field: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no {field} in the status of process {pid}"))
        };
        Memory {
            rss: kib("VmRSS:") * 1024,
            peak: kib("VmHWM:") * 1024,
        }
    }

    /// The memory once it stops growing: sampled every 20 ms until ten
    /// samples in a row add less than 1 MiB, so that the work an attack
    /// started is done before it is measured (a server stuck on purpose
    /// gives no event to wait for).
    pub async fn settled_memory(&self) -> Memory {
        const MIB: u64 = 1024 * 1024;
        let mut last = self.memory();
        let mut still = 0;
        while still < 10 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let now = self.memory();
            if now.rss > last.rss + MIB {
                still = 0;
            } else {
                still += 1;
            }
            last = now;
        }
        last
    }

    /// Starts measuring the peak ([`Memory::peak`]) again from now (writes
    /// `5` to `/proc/<pid>/clear_refs`).
    pub fn reset_peak(&self) {
        let pid = self.pid().expect("the server is running");
        std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
            .unwrap_or_else(|e| panic!("cannot reset the peak memory of process {pid}: {e}"));
    }

    /// `http://<addr>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGTERM: what an orchestrator sends to stop the server gracefully.
    pub async fn terminate(&self) {
        let pid = self.pid().expect("the server is running");
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    /// SIGKILL: the process ends without closing anything. Returns its
    /// address, to start another on it.
    pub async fn kill(mut self) -> SocketAddr {
        self.child.kill().await.expect("kill the server");
        self.addr
    }
}
