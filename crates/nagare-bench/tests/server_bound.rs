//! `nagare-bench server-bound`, end to end and small: every kind of
//! measurement against every server, Redis included. A change that breaks
//! a case (a server that stops echoing or refuses the upgrade, a fan-out
//! that loses a message, an idle server that cannot hold its connections)
//! fails here, not in the next person's benchmark. The figures of so small
//! a run (a debug build, a second per run) mean nothing and are not read.

mod bench;

#[test]
fn every_case_of_the_server_bound_benchmark_runs_and_reports() {
    // About 40 s here; a run over five minutes is stuck.
    let stdout = bench::run(
        &[
            "server-bound",
            "--runs",
            "3",
            "--seconds",
            "1",
            "--connections",
            "8",
            "--connects",
            "100",
            "--subscribers",
            "100",
            "--events",
            "50",
            "--idle",
            "50,100",
            "--costs",
            "--redis",
        ],
        std::time::Duration::from_secs(300),
    );
    for table in [
        "server-bound echo:",
        "connect rate:",
        "fan-out:",
        "idle memory:",
    ] {
        assert!(stdout.contains(table), "no {table} table:\n{stdout}");
    }
    // Every server has its row in every table it belongs to: the echo, the
    // connect rate and the idle memory (6 each), the fan-out (5).
    for (row, tables) in [
        ("| bare tokio-tungstenite, batched writes (floor) |", 3),
        ("| nagare connection driver, raw echo |", 3),
        ("| nagare connection driver, raw echo, heartbeats off |", 3),
        (
            "| nagare connection driver, raw echo, Prometheus recorder installed |",
            3,
        ),
        ("| typed echo (decode, validate, encode) |", 3),
        ("| guide /echo (typed, validated, published) |", 3),
        ("| typed room (bench design", 1),
        ("| guide /subscribe, published through /listen", 1),
        ("| guide /subscribe, room on Redis (one node) |", 1),
    ] {
        assert_eq!(
            stdout.matches(row).count(),
            tables,
            "{row} in {tables} tables:\n{stdout}"
        );
    }
    assert_eq!(
        stdout
            .matches("| bare tokio::sync::broadcast + tokio-tungstenite")
            .count(),
        2,
        "a fan-out floor per event size:\n{stdout}"
    );
}
