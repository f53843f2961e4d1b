//! A crate of a user's, outside the workspace, built with cargo as its owner
//! would build it: nagare's crates by path (this checkout), everything else
//! at the versions this workspace's `Cargo.lock` pins. What the tests of the
//! getting-started guide and of the generator's error messages need.
//!
//! The crates live in the system's temporary folder (`nagare-user-crates/`),
//! outside the checkout, whose workspace cargo would otherwise take them for
//! members of, and share one target directory there, so the dependencies are
//! compiled once for all of them.

use std::path::{Path, PathBuf};
use std::process::Output;

/// The longest a cargo command of a user's crate may take: the first one
/// compiles every dependency (a few minutes on two cores).
pub const CARGO_DEADLINE: std::time::Duration = std::time::Duration::from_secs(900);

/// The checkout's root.
pub fn checkout() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the checkout's root")
}

/// Where the crates and their target directory are.
fn home() -> PathBuf {
    std::env::temp_dir().join("nagare-user-crates")
}

/// A crate in `<temp>/nagare-user-crates/<name>`, written afresh.
#[derive(Debug)]
pub struct UserCrate {
    dir: PathBuf,
}

impl UserCrate {
    /// An empty crate directory called `name`, with the workspace's lock file
    /// (so the crate resolves to the versions the workspace was tested with).
    pub fn new(name: &str) -> UserCrate {
        let root = checkout();
        let dir = home().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the crate's directory");
        std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("the lock file");
        UserCrate { dir }
    }

    /// The crate's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `contents` to `path` in the crate, making folders as needed.
    pub fn write(&self, path: &str, contents: &str) -> &Self {
        let file = self.dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("a folder of the crate");
        }
        std::fs::write(&file, contents).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        self
    }

    /// Runs `cargo <args>` in the crate, in the shared target directory;
    /// its output. Bounded by [`CARGO_DEADLINE`]: a cargo that hangs is
    /// killed and the test fails, saying so.
    pub fn cargo(&self, args: &[&str]) -> Output {
        use std::io::Read;
        let mut child =
            std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(args)
                .current_dir(&self.dir)
                .env("CARGO_TARGET_DIR", home().join("target"))
                .env_remove("RUSTFLAGS")
                .env("CARGO_TERM_COLOR", "never")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("run cargo");
        // Read both pipes on threads of their own, so a full pipe never
        // holds cargo up while the deadline is watched.
        let mut out = child.stdout.take().expect("stdout is piped");
        let mut err = child.stderr.take().expect("stderr is piped");
        let stdout = std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = out.read_to_end(&mut b);
            b
        });
        let stderr = std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = err.read_to_end(&mut b);
            b
        });
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for cargo") {
                break status;
            }
            if started.elapsed() > CARGO_DEADLINE {
                let _ = child.kill();
                panic!(
                    "cargo {args:?} in {} ran past {CARGO_DEADLINE:?}",
                    self.dir.display()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        }
    }
}

/// The dependency line of nagare's crate `name` by path, for a user's
/// `Cargo.toml` (`nagare = { path = "..." }` and its features, if any).
pub fn path_dependency(name: &str, features: &[&str]) -> String {
    let path = checkout().join("crates").join(name);
    let features = match features {
        [] => String::new(),
        f => format!(
            ", features = [{}]",
            f.iter()
                .map(|f| format!("\"{f}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "{name} = {{ path = {:?}{features} }}",
        path.display().to_string()
    )
}
