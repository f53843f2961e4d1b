//! The hello service through its generated client, in process.

use hello::greeter::{client::Client, server, CountPayload};
use nagare::testing::{within, TestServer};

fn client() -> Client {
    let router = server::router(hello::Hello, nagare::ServerOptions::new());
    Client::from_dialer(TestServer::new(router).dialer())
}

#[tokio::test]
async fn greet_answers_each_name() {
    let mut greet = within("dial", client().greet()).await.expect("greet");
    for name in ["Ada", "Grace"] {
        greet.send(&name.to_owned()).await.expect("send");
        let answer = within("a greeting", greet.recv()).await.expect("recv");
        assert_eq!(answer, Some(format!("Hello, {name}!")));
    }
}

#[tokio::test]
async fn count_streams_up_to_its_query_parameter_then_ends() {
    let mut count = within("dial", client().count(&CountPayload { to: 3 }))
        .await
        .expect("count");
    let mut seen = Vec::new();
    while let Some(n) = within("a number", count.recv()).await.expect("recv") {
        seen.push(n);
    }
    assert_eq!(seen, [1, 2, 3]);
}

#[tokio::test]
async fn count_refuses_a_bound_below_one_before_the_upgrade() {
    let refused = within("dial", client().count(&CountPayload { to: 0 }))
        .await
        .expect_err("to = 0");
    assert!(refused.to_string().contains("to"), "{refused}");
}

/// The example stays the smallest useful service: its design, service and
/// mains (server and CLI) are at most 60 lines of code (lines neither blank nor comments).
#[test]
fn hand_written_code_is_at_most_60_lines() {
    let root = env!("CARGO_MANIFEST_DIR");
    let lines: usize = [
        "design.rs",
        "src/lib.rs",
        "src/main.rs",
        "src/bin/hello-cli.rs",
    ]
    .iter()
    .map(|file| {
        let text = std::fs::read_to_string(format!("{root}/{file}")).expect("a source file");
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .count()
    })
    .sum();
    assert!(lines <= 60, "{lines} lines of code");
}

/// The README opens with this example, quoting its files whole: a change to
/// one of them must show there.
#[test]
fn the_readme_quotes_the_example_as_it_is() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/../../README.md")).expect("README.md");
    for file in ["design.rs", "src/lib.rs", "src/main.rs"] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).expect("a source file");
        assert!(
            readme.contains(&format!("```rust\n{text}```")),
            "README.md does not quote examples/hello/{file} as it is"
        );
    }
}
