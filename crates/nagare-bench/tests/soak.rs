//! The two-minute soak (`nagare-bench soak`): connections opening and closing,
//! a fifth of them misbehaving, subscribers following the room; the server's
//! memory and descriptors must stay flat and no well-behaved client may lose
//! a message. The bench exits with an error otherwise.

#[test]
fn a_two_minute_soak_leaves_memory_and_descriptors_flat_and_loses_nothing() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nagare-bench"))
        .args([
            "soak",
            "--seconds",
            "120",
            "--sample",
            "15",
            "--clients",
            "20",
        ])
        .output()
        .expect("run nagare-bench soak");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("flat, nothing lost"), "{stdout}");
}
