//! Running the bench binary from a test.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs `nagare-bench` with `args` and returns what it printed; fails the
/// test, with its output and errors, when the command fails or takes longer
/// than `limit`. The bench runs in a process group of its own, so that a run
/// over its time is killed with the servers it started.
pub fn run(args: &[&str], limit: Duration) -> String {
    let child = Command::new(env!("CARGO_BIN_EXE_nagare-bench"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start nagare-bench");
    let group = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(out) = rx.recv_timeout(limit) else {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{group}")])
            .status();
        panic!("nagare-bench {} took over {limit:?}", args.join(" "));
    };
    let out = out.expect("wait for nagare-bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{stdout}");
    assert!(
        out.status.success(),
        "nagare-bench {}:\n{stdout}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
