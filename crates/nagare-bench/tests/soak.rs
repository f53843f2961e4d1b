//! The two-minute soak (`nagare-bench soak`): connections opening and closing,
//! a fifth of them misbehaving, subscribers following the room; the server's
//! memory and descriptors must stay flat and no well-behaved client may lose
//! a message. The bench exits with an error otherwise.

mod bench;

#[test]
fn a_two_minute_soak_leaves_memory_and_descriptors_flat_and_loses_nothing() {
    let stdout = bench::run(
        &[
            "soak",
            "--seconds",
            "120",
            "--sample",
            "15",
            "--clients",
            "20",
        ],
        std::time::Duration::from_secs(300),
    );
    assert!(stdout.contains("flat, nothing lost"), "{stdout}");
}
