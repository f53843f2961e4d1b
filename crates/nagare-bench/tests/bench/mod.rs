//! Running the bench binary from a test.

/// Runs `nagare-bench` with `args` and returns what it printed; fails the
/// test, with its output and errors, when the command fails.
pub fn run(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nagare-bench"))
        .args(args)
        .output()
        .expect("run nagare-bench");
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
