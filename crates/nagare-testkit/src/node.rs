//! Node.js tools of the workspace's `js/` folder, run by tests: the AsyncAPI
//! and OpenAPI validators that check the generated documents. `scripts/test`
//! installs them (`npm ci --prefix js`); a test says so when they are
//! missing instead of passing without checking.

use std::path::PathBuf;
use std::process::Command;

/// The workspace's `js/` folder.
pub fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../js")
}

/// Which validator checks a document.
#[derive(Clone, Copy, Debug)]
pub enum Spec {
    /// `@asyncapi/parser`: no diagnostic of error severity.
    AsyncApi,
    /// `@seriousme/openapi-schema-validator`: valid OpenAPI 3.1.
    OpenApi,
}

/// Runs the validator on `document`; `Err` carries everything it printed.
pub fn validate(spec: Spec, name: &str, document: &str) -> Result<String, String> {
    installed()?;
    let js = js_dir();
    let dir = std::env::temp_dir().join(format!("nagare-spec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let kind = match spec {
        Spec::AsyncApi => "asyncapi",
        Spec::OpenApi => "openapi",
    };
    let file = dir.join(format!("{name}.{kind}.json"));
    std::fs::write(&file, document).map_err(|e| e.to_string())?;
    let out = Command::new("node")
        .arg(js.join("validate-specs.mjs"))
        .arg(kind)
        .arg(&file)
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    let _ = std::fs::remove_file(&file);
    report(out)
}

/// A generated browser client, as files: (name, content), written side by
/// side so that `./<api>.js` resolves.
pub type ClientFiles<'a> = &'a [(&'a str, &'a str)];

/// A fresh folder holding `files`, a copy of the `js/test/` files named and
/// the helpers they share (`support.mjs`).
fn stage(name: &str, files: ClientFiles<'_>, tests: &[&str]) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "nagare-js-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for (file, text) in files {
        std::fs::write(dir.join(file), text).map_err(|e| e.to_string())?;
    }
    for t in tests.iter().chain(&["support.mjs"]) {
        std::fs::copy(js_dir().join("test").join(t), dir.join(t))
            .map_err(|e| format!("cannot copy js/test/{t}: {e}"))?;
    }
    Ok(dir)
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn installed() -> Result<(), String> {
    if js_dir().join("node_modules/.bin/tsc").exists() {
        Ok(())
    } else {
        Err(format!(
            "the Node.js tools are not installed: run `npm ci --prefix {}` (scripts/test does)",
            js_dir().display()
        ))
    }
}

fn report(out: std::process::Output) -> Result<String, String> {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// Type-checks `check` (a `.ts` file of `js/test/`) against the client's
/// declarations with `tsc --strict --noEmit`, for a browser (DOM types).
pub fn typecheck(name: &str, files: ClientFiles<'_>, check: &str) -> Result<String, String> {
    installed()?;
    let dir = stage(name, files, &[check])?;
    let config = format!(
        r#"{{"compilerOptions": {{"strict": true, "noEmit": true, "target": "es2022",
            "module": "esnext", "moduleResolution": "bundler", "lib": ["es2022", "dom", "dom.iterable"],
            "noUnusedLocals": true, "exactOptionalPropertyTypes": false, "skipLibCheck": false}},
            "files": [{check:?}]}}"#
    );
    std::fs::write(dir.join("tsconfig.json"), config).map_err(|e| e.to_string())?;
    let out = Command::new(js_dir().join("node_modules/.bin/tsc"))
        .arg("-p")
        .arg(dir.join("tsconfig.json"))
        .output()
        .map_err(|e| format!("cannot run tsc: {e}"))?;
    let result = report(out);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Runs `test` (a `.mjs` file of `js/test/`) with Node's test runner next to
/// the client's files, with `NAGARE_URL` set to `base_url` and `env` added.
/// Node 20 needs `--experimental-websocket` for its WebSocket. With no
/// files, the test runs where it is, so it can import the packages of
/// `js/node_modules` (playwright-core).
pub async fn run_tests(
    name: &str,
    files: ClientFiles<'_>,
    test: &str,
    base_url: &str,
    env: &[(&str, &str)],
) -> Result<String, String> {
    installed()?;
    let dir = if files.is_empty() {
        js_dir().join("test")
    } else {
        stage(name, files, &[test])?
    };
    let mut command = tokio::process::Command::new("node");
    command
        .arg("--experimental-websocket")
        .arg("--no-warnings")
        .arg("--test")
        .arg("--test-reporter=spec")
        // Each test bounded: one that hangs fails by name, the rest still run.
        .arg("--test-timeout=20000")
        .arg(dir.join(test))
        .env("NAGARE_URL", base_url)
        .kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command
        .output()
        .await
        .map_err(|e| format!("cannot run node: {e}"))?;
    let result = report(out);
    if !files.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}
