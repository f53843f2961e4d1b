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
    let js = js_dir();
    if !js.join("node_modules/@asyncapi/parser").is_dir() {
        return Err(format!(
            "the validators are not installed: run `npm ci --prefix {}` (scripts/test does)",
            js.display()
        ));
    }
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
