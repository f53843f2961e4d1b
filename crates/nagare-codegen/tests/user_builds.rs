//! What a user's own crate, outside the workspace, sees of the generator at
//! build time: the getting-started guide's crate builds and its test passes;
//! a broken design fails with each problem once, at its line of `design.rs`;
//! a switch whose runtime feature is off is one error naming the feature; the
//! build script runs again when the design changes, and not when another
//! file does; a client-only crate links no axum and a server-only one no
//! reqwest.

use nagare_testkit::user_crate::{checkout, path_dependency, UserCrate};

/// The files of `docs/getting-started.md`: each fenced block whose info
/// string names a file (```` ```rust file=src/lib.rs ````), with nagare's
/// crates depended on from this checkout.
fn getting_started_files() -> Vec<(String, String)> {
    let page = std::fs::read_to_string(checkout().join("docs/getting-started.md"))
        .expect("docs/getting-started.md");
    let crates = checkout().join("crates");
    let mut files = Vec::new();
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line.strip_prefix("```").and_then(|info| {
            info.split_whitespace()
                .find_map(|w| w.strip_prefix("file="))
        }) else {
            continue;
        };
        let mut text = String::new();
        for body in lines.by_ref() {
            if body.starts_with("```") {
                break;
            }
            text.push_str(body);
            text.push('\n');
        }
        let text = text.replace("\"../nagare/crates/", &format!("\"{}/", crates.display()));
        files.push((path.to_owned(), text));
    }
    files
}

#[test]
fn the_getting_started_crate_builds_and_its_test_passes() {
    let files = getting_started_files();
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    for expected in [
        "Cargo.toml",
        "design.rs",
        "build.rs",
        "src/lib.rs",
        "src/main.rs",
        "src/bin/ticker-cli.rs",
        "tests/ticker.rs",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from the page: {names:?}"
        );
    }
    let krate = UserCrate::new("ticker");
    for (path, text) in &files {
        krate.write(path, text);
    }
    let out = krate.cargo(&["test"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    // Built without a warning, generated code included.
    assert!(!err.contains("warning:"), "{err}");
    let help = krate.cargo(&[
        "run",
        "-q",
        "--bin",
        "ticker-cli",
        "--",
        "quotes",
        "trade",
        "--help",
    ]);
    assert!(help.status.success(), "{}", stderr(&help));
}

/// A small valid design: one server stream with a query parameter.
const DESIGN: &str = r#"use nagare_design::*;

pub fn design() -> Api {
    api("mini", |a| {
        a.service("clock", |s| {
            s.method("tick", |m| {
                m.payload(|p| {
                    p.attribute("every_ms", INT, "Milliseconds between ticks").minimum(1);
                });
                m.streaming_result_type(INT);
                m.http(|h| {
                    h.get("/tick").param("every_ms");
                });
            });
        });
    })
}
"#;

/// [`DESIGN`] with a unary method too, for the builds of one side.
fn design_with_unary() -> String {
    DESIGN.replace(
        "        });\n    })\n}",
        "            s.method(\"now\", |m| {\n                m.result_type(INT);\n                m.http(|h| {\n                    h.get(\"/now\");\n                });\n            });\n        });\n    })\n}",
    )
}

/// A crate named `name` with `design`, its build script calling `builder`
/// (the `Builder` expression), and nagare with `features`.
fn user_crate(name: &str, design: &str, builder: &str, features: &[&str]) -> UserCrate {
    user_crate_with(name, design, builder, &path_dependency("nagare", features))
}

/// [`user_crate`] with nagare's dependency line as given.
fn user_crate_with(name: &str, design: &str, builder: &str, nagare: &str) -> UserCrate {
    let krate = UserCrate::new(name);
    krate
        .write(
            "Cargo.toml",
            &format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{nagare}\n\n[build-dependencies]\n{}\n{}\n",
                path_dependency("nagare-design", &[]),
                path_dependency("nagare-codegen", &[]),
            ),
        )
        .write("design.rs", design)
        .write(
            "build.rs",
            &format!(
                "#[path = \"design.rs\"]\nmod design;\n\nfn main() {{\n    {builder}.build_script(&design::design());\n}}\n"
            ),
        )
        .write("src/lib.rs", "nagare::include_api!(\"mini\");\n");
    krate
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_broken_design_fails_with_each_problem_once_at_its_line() {
    let design = DESIGN
        .replace("h.get(\"/tick\")", "h.get(\"/tick/{zone}\")")
        .replace(
            "                });\n                m.streaming_result_type",
            "                    p.required([\"every\"]);\n                });\n                m.streaming_result_type",
        );
    let krate = user_crate(
        "broken_design",
        &design,
        "nagare_codegen::Builder::new()",
        &[],
    );
    let out = krate.cargo(&["build"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let lines = |text: &str| err.lines().filter(|l| l.contains(text)).count();
    // Each problem once, as an error, at the line of the call that made it.
    let path = "design.rs:13:23: service \"clock\" method \"tick\": http: path parameter {zone} names an attribute the payload does not have";
    let required =
        "design.rs:9:23: service \"clock\" method \"tick\": payload: required: required(\"every\") names an unknown attribute";
    assert_eq!(lines(path), 1, "{err}");
    assert_eq!(lines(required), 1, "{err}");
    assert!(!err.contains("warning: broken_design"), "{err}");
    assert!(!err.contains("--- stdout"), "{err}");
}

#[test]
fn a_switch_whose_runtime_feature_is_off_is_one_error_naming_it() {
    let krate = user_crate(
        "cli_without_feature",
        DESIGN,
        "nagare_codegen::Builder::new().cli(true)",
        &[],
    );
    let out = krate.cargo(&["build"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let named: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("nagare's `cli` feature"))
        .collect();
    assert_eq!(named.len(), 1, "{err}");
    assert!(named[0].contains("features = [\"cli\"]"), "{err}");
    // And nothing from rustc about generated code.
    assert!(!err.contains("error[E"), "{err}");
}

#[test]
fn the_build_script_runs_again_for_the_design_not_for_other_files() {
    let krate = user_crate("rerun", DESIGN, "nagare_codegen::Builder::new()", &[]);
    let ran = |out: &std::process::Output| {
        let err = stderr(out);
        assert!(out.status.success(), "{err}");
        err.lines().any(|l| {
            l.contains("Running") && l.contains("/build/rerun-") && l.contains("build-script-build")
        })
    };
    assert!(
        ran(&krate.cargo(&["build", "-v"])),
        "the first build runs it"
    );
    krate.write("src/lib.rs", "nagare::include_api!(\"mini\");\n// edited\n");
    assert!(!ran(&krate.cargo(&["build", "-v"])), "another file changed");
    krate.write(
        "design.rs",
        &DESIGN.replace(
            "Milliseconds between ticks",
            "Milliseconds between two ticks",
        ),
    );
    assert!(ran(&krate.cargo(&["build", "-v"])), "the design changed");
}

/// nagare without its default features, with `features`.
fn nagare_only(features: &[&str]) -> String {
    path_dependency("nagare", features).replacen(
        ", features",
        ", default-features = false, features",
        1,
    )
}

/// The crates a crate's normal build links, with their features, one per
/// line (`cargo tree -e normal,features`).
fn linked(krate: &UserCrate) -> String {
    let out = krate.cargo(&["tree", "-e", "normal,features", "--prefix", "none"]);
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_client_only_crate_builds_without_axum_or_hyper_s_server() {
    let krate = user_crate_with(
        "client_only",
        &design_with_unary(),
        "nagare_codegen::Builder::new().server(false)",
        &nagare_only(&["client"]),
    );
    krate.write(
        "src/lib.rs",
        "nagare::include_api!(\"mini\");\n\n/// The client is there.\npub fn client() -> clock::client::Client {\n    clock::client::Client::new(\"http://127.0.0.1:8080\")\n}\n",
    );
    let out = krate.cargo(&["build"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("warning:"), "{err}");
    let tree = linked(&krate);
    assert!(tree.contains("reqwest v"), "{tree}");
    assert!(!tree.contains("axum"), "{tree}");
    assert!(!tree.contains("hyper feature \"server\""), "{tree}");
}

#[test]
fn a_server_only_crate_builds_without_reqwest() {
    let krate = user_crate_with(
        "server_only",
        &design_with_unary(),
        "nagare_codegen::Builder::new().client(false)",
        &nagare_only(&["server"]),
    );
    krate.write(
        "src/lib.rs",
        "nagare::include_api!(\"mini\");\n\n/// The server side is there.\npub struct Clock;\n\nimpl clock::Service for Clock {\n    async fn tick(&self, _: clock::TickPayload, _: clock::TickServerStream) -> Result<(), clock::Error> {\n        Ok(())\n    }\n\n    async fn now(&self) -> Result<i64, clock::Error> {\n        Ok(0)\n    }\n}\n\n/// Its router.\npub fn router() -> nagare::axum::Router {\n    clock::server::router(Clock, nagare::ServerOptions::new())\n}\n",
    );
    let out = krate.cargo(&["build"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("warning:"), "{err}");
    let tree = linked(&krate);
    assert!(tree.contains("axum v"), "{tree}");
    assert!(!tree.contains("reqwest"), "{tree}");
}

#[test]
fn a_side_whose_runtime_feature_is_off_is_one_error_naming_it() {
    // The builder's default writes the server side; nagare has the client only.
    let krate = user_crate_with(
        "server_without_feature",
        DESIGN,
        "nagare_codegen::Builder::new()",
        &nagare_only(&["client"]),
    );
    let out = krate.cargo(&["build"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let named: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("nagare's `server` feature"))
        .collect();
    assert_eq!(named.len(), 1, "{err}");
    assert!(named[0].contains("Builder::server(false)"), "{err}");
    assert!(!err.contains("error[E"), "{err}");
}
