//! The server under measurement, as a child process: started on CPU 0,
//! its address read from its first line, its CPU time, memory, heap and
//! descriptors read while it runs.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};

/// CPU time (user + system) process `pid` has used so far.
pub(crate) fn cpu_of(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').context("stat format")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11).context("utime")?.parse::<u64>()?
        + fields.get(12).context("stime")?.parse::<u64>()?;
    // Linux reports in clock ticks of 1/100 s on every common configuration.
    Ok(Duration::from_millis(ticks * 10))
}

/// A server child process and its address.
pub(crate) struct ServerProcess {
    pub(crate) child: tokio::process::Child,
    pub(crate) addr: SocketAddr,
    /// Heap queries: a line out, a number back.
    pub(crate) queries: tokio::sync::Mutex<(
        tokio::process::ChildStdin,
        BufReader<tokio::process::ChildStdout>,
    )>,
}

impl ServerProcess {
    pub(crate) async fn spawn(mode: &str) -> anyhow::Result<Self> {
        Self::spawn_with(mode, &[]).await
    }

    pub(crate) async fn spawn_with(mode: &str, args: &[&str]) -> anyhow::Result<Self> {
        Self::spawn_build(None, mode, args).await
    }

    /// A server served by `exe`, another build of this binary (another
    /// commit's, for a before-and-after comparison), or by this one (`None`).
    pub(crate) async fn spawn_build(
        exe: Option<&std::path::Path>,
        mode: &str,
        args: &[&str],
    ) -> anyhow::Result<Self> {
        let exe = match exe {
            Some(exe) => exe.to_owned(),
            None => std::env::current_exe()?,
        };
        let mut cmd = if which("taskset") {
            let mut c = tokio::process::Command::new("taskset");
            c.arg("-c").arg("0").arg(exe);
            c
        } else {
            tokio::process::Command::new(exe)
        };
        let mut child = cmd
            .arg(mode)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("spawn server")?;
        let mut stdout = BufReader::new(child.stdout.take().context("server stdout")?);
        let stdin = child.stdin.take().context("server stdin")?;
        let mut line = String::new();
        stdout.read_line(&mut line).await?;
        let addr = line.trim().parse().context("server address")?;
        Ok(ServerProcess {
            child,
            addr,
            queries: tokio::sync::Mutex::new((stdin, stdout)),
        })
    }

    /// The server's live heap bytes (see [`heap`]).
    pub(crate) async fn heap_bytes(&self) -> anyhow::Result<u64> {
        use tokio::io::AsyncWriteExt;
        let mut q = self.queries.lock().await;
        q.0.write_all(b"heap\n").await?;
        q.0.flush().await?;
        let mut line = String::new();
        q.1.read_line(&mut line).await?;
        line.trim().parse().context("heap bytes")
    }

    /// CPU time (user + system) the server process has used so far.
    pub(crate) fn cpu_time(&self) -> anyhow::Result<Duration> {
        cpu_of(self.child.id().context("server pid")?)
    }

    /// Descriptors the server process has open.
    pub(crate) fn open_fds(&self) -> anyhow::Result<u64> {
        let pid = self.child.id().context("server pid")?;
        Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64)
    }

    /// Resident memory of the server process, in KiB.
    pub(crate) fn rss_kib(&self) -> anyhow::Result<u64> {
        let pid = self.child.id().context("server pid")?;
        // Under taskset the server is the child of taskset's exec: same pid.
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("VmRSS")
    }
}

pub(crate) fn which(cmd: &str) -> bool {
    std::process::Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A run where the server used under 95% of its core was limited by
/// something else (the generator's core, or the bench's own pacing, such as
/// the fan-out's window): its ratio compares nothing. Every table of this
/// command applies this rule.
pub(crate) fn not_server_bound(server_busy: f64) -> bool {
    server_busy < 0.95
}
