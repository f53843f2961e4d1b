//! Code generation for nagare designs.
//!
//! Called from a user crate's `build.rs`; the output is `include!`d by the crate:
//!
//! ```no_run
//! // build.rs
//! # mod design { pub fn design() -> nagare_design::Api { nagare_design::api("guide", |_| {}) } }
//! fn main() {
//!     nagare_codegen::Builder::new().cli(true).build_script(&design::design());
//! }
//! ```
//!
//! ```ignore
//! // src/lib.rs
//! nagare::include_api!("guide");
//! ```
//!
//! The build script runs again when a file of the design changes (the files
//! its DSL calls were written in); an invalid design fails the build with
//! one error per problem, each at its line of the design.
//!
//! For each service the output has a module with the types (serde, `validate()`,
//! views), an `Error` enum, a `Service` trait, typed stream aliases, an
//! `endpoints` module naming its streaming endpoints, a `server` module with an
//! axum router, a `client` module and (with [`Builder::cli`]) a `cli` module. The
//! design is validated first; an invalid design is reported with every problem,
//! each at its line of the design, and nothing is written.
//!
//! How the generator is laid out: [`Builder`] validates and orchestrates; the
//! service generator (types, `Error`, trait, stream handles) renders each
//! service's module and calls the server, client and command-line generators,
//! which all read one model of each method and never each other.

#![warn(missing_docs)]

mod asyncapi;
mod cli;
mod client;
mod docs;
mod enums;
mod error;
mod example;
mod javascript;
mod model;
mod names;
mod openapi;
mod rooms;
mod schema;
mod server;
mod service;
mod spec_parts;
mod types;

use std::path::{Path, PathBuf};

use nagare_design::{Api, DesignErrors};

/// Why code could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The design breaks a rule; every problem is listed.
    #[error("{0}")]
    InvalidDesign(#[from] DesignErrors),
    /// The design uses something this generator does not generate.
    #[error("service {service:?} method {method:?}: {what} is not supported by the generator")]
    Unsupported {
        /// The service.
        service: String,
        /// The method.
        method: String,
        /// What is not supported.
        what: String,
    },
    /// Two things of the design would get the same name in the generated code.
    #[error("service {service:?}: {name:?} clashes with {with} in the generated code; rename it in the design")]
    NameClash {
        /// The service.
        service: String,
        /// The design's name that clashes.
        name: String,
        /// What it clashes with.
        with: String,
    },
    /// Two builder switches ask for what cannot go together.
    #[error("{0}")]
    Switches(String),
    /// The generated tokens did not parse (a generator bug).
    #[error("generated code does not parse: {0}")]
    Syntax(String),
    /// The output file could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Generation options; [`generate`] and [`render`] use the defaults.
#[derive(Clone, Debug)]
pub struct Builder {
    sides: Sides,
    asyncapi: bool,
    openapi: bool,
    javascript: bool,
}

/// Which sides of each service the code has.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sides {
    /// The service trait, its rooms, its endpoints and its router.
    pub(crate) server: bool,
    /// The typed client.
    pub(crate) client: bool,
    /// The command line, on the client.
    pub(crate) cli: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            sides: Sides {
                server: true,
                client: true,
                cli: false,
            },
            asyncapi: false,
            openapi: false,
            javascript: false,
        }
    }
}

impl Builder {
    /// Default options: types, service traits, servers and clients.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to generate the server side: each service's `Service` trait,
    /// its rooms, its endpoint names and its `server::router` (on by
    /// default). A crate that only calls a service turns it off and depends
    /// on nagare without its `server` feature, so it links no axum.
    pub fn server(mut self, enabled: bool) -> Self {
        self.sides.server = enabled;
        self
    }

    /// Whether to generate the client side: each service's
    /// `client::Client` (on by default). A crate that only serves turns it
    /// off and depends on nagare without its `client` feature, so it links
    /// no reqwest.
    pub fn client(mut self, enabled: bool) -> Self {
        self.sides.client = enabled;
        self
    }

    /// Also generates a command-line client (`cli` modules and `cli::main`); the
    /// crate must enable the `cli` feature of `nagare`.
    pub fn cli(mut self, enabled: bool) -> Self {
        self.sides.cli = enabled;
        self
    }

    /// Also writes the AsyncAPI 3.0 document of the API's WebSocket endpoints
    /// (`<api>.asyncapi.json` next to the code); the code gets a `specs`
    /// module holding it.
    pub fn asyncapi(mut self, enabled: bool) -> Self {
        self.asyncapi = enabled;
        self
    }

    /// Also writes the OpenAPI 3.1 document of the API's HTTP endpoints,
    /// unary methods and upgrades (`<api>.openapi.json` next to the code);
    /// the code gets a `specs` module holding it.
    pub fn openapi(mut self, enabled: bool) -> Self {
        self.openapi = enabled;
        self
    }

    /// Also writes the browser client: an ES module (`<api>.js`) with its
    /// TypeScript declarations (`<api>.d.ts`) and the runtime it imports
    /// (`nagare-client.js`, `nagare-client.d.ts`), next to the code; the code
    /// gets a `browser` module holding them and a router serving them.
    pub fn javascript(mut self, enabled: bool) -> Self {
        self.javascript = enabled;
        self
    }

    /// The browser client of `api`: the module and its declarations.
    pub fn render_javascript(&self, api: &Api) -> Result<(String, String), GenerateError> {
        api.validate()?;
        let r = javascript::render(api)?;
        Ok((r.js, r.dts))
    }

    /// The AsyncAPI 3.0 document of `api`, as formatted JSON.
    pub fn render_asyncapi(&self, api: &Api) -> Result<String, GenerateError> {
        api.validate()?;
        Ok(spec_parts::to_text(&asyncapi::document(api)?))
    }

    /// The OpenAPI 3.1 document of `api`, as formatted JSON.
    pub fn render_openapi(&self, api: &Api) -> Result<String, GenerateError> {
        api.validate()?;
        Ok(spec_parts::to_text(&openapi::document(api)?))
    }

    /// Renders the code of every service of `api` as one formatted Rust file.
    pub fn render(&self, api: &Api) -> Result<String, GenerateError> {
        api.validate()?;
        self.check_switches()?;
        let reserved = [
            (
                self.sides.cli,
                "cli",
                "the command-line module the API gets with `cli(true)`",
            ),
            (
                self.asyncapi || self.openapi,
                "specs",
                "the module of the API's documents (`asyncapi(true)`, `openapi(true)`)",
            ),
            (
                self.javascript,
                "browser",
                "the module of the browser client (`javascript(true)`)",
            ),
        ];
        let commands = self.documents();
        if let Some(s) = api
            .services
            .iter()
            .find(|s| self.sides.cli && commands.iter().any(|d| d.command == names::snake(&s.name)))
        {
            return Err(GenerateError::NameClash {
                service: s.name.clone(),
                name: s.name.clone(),
                with: "a command of the command line that prints a document".into(),
            });
        }
        for (on, module, what) in reserved {
            if let Some(s) = api
                .services
                .iter()
                .find(|s| on && names::snake(&s.name) == module)
            {
                return Err(GenerateError::NameClash {
                    service: s.name.clone(),
                    name: s.name.clone(),
                    with: what.into(),
                });
            }
        }
        let modules = api
            .services
            .iter()
            .map(|s| service::render(api, s, self.sides))
            .collect::<Result<Vec<_>, _>>()?;
        let cli = self
            .sides
            .cli
            .then(|| cli::render_api(api, &self.documents()));
        let specs = self.specs_module(api);
        let browser = self.browser_module(api);
        let tokens = quote::quote!(#(#modules)* #cli #specs #browser);
        let file: syn::File =
            syn::parse2(tokens).map_err(|e| GenerateError::Syntax(e.to_string()))?;
        let header = format!(
            "// Code generated by nagare-codegen from the design of API {:?}. DO NOT EDIT.\n\n",
            api.name
        );
        Ok(header + &space_items(&prettyplease::unparse(&file)))
    }

    /// Everything a `build.rs` does: writes the code to `OUT_DIR`, tells cargo
    /// to run the build script again when a file of the design changes, and on
    /// an invalid design fails the build with one cargo error per problem.
    ///
    /// ```no_run
    /// # mod design { pub fn design() -> nagare_design::Api { nagare_design::api("guide", |_| {}) } }
    /// // build.rs
    /// fn main() {
    ///     nagare_codegen::Builder::new().cli(true).build_script(&design::design());
    /// }
    /// ```
    pub fn build_script(&self, api: &Api) {
        if let Some(missing) = self.missing_runtime_feature() {
            println!("cargo::error={missing}");
            return;
        }
        for file in nagare_design::design_files() {
            if let Some(path) = watched_path(file) {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        let result = match std::env::var_os("OUT_DIR") {
            Some(out) => self.generate(api, out).map(drop),
            None => Err(GenerateError::Write {
                path: PathBuf::from("$OUT_DIR"),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "OUT_DIR is not set: call this from build.rs",
                ),
            }),
        };
        if let Err(e) = result {
            // One error per problem, each shown once: cargo fails the build
            // after the script (a failing exit would show them twice, as
            // warnings and in the script's output).
            for line in e.to_string().lines() {
                println!("cargo::error={line}");
            }
        }
    }

    /// Refuses switches that contradict each other.
    fn check_switches(&self) -> Result<(), GenerateError> {
        if self.sides.cli && !self.sides.client {
            return Err(GenerateError::Switches(
                "Builder::cli(true) writes a command line that calls the service through its client, which Builder::client(false) leaves out: drop one of the two".into(),
            ));
        }
        Ok(())
    }

    /// What the crate's nagare lacks for the code this builder writes: the
    /// error to show instead of the ones rustc would find in generated code.
    /// Read from `DEP_NAGARE_FEATURES`, which nagare gives the build scripts
    /// of the crates that depend on it (nothing is checked without it).
    fn missing_runtime_feature(&self) -> Option<String> {
        let features = std::env::var("DEP_NAGARE_FEATURES").ok()?;
        let on = |f: &str| features.split(',').any(|x| x == f);
        let needs = [
            (
                self.sides.server,
                "server",
                "The server side of each service (written by default)",
                "Builder::server(false) for a crate that only calls the service",
            ),
            (
                self.sides.client,
                "client",
                "The client of each service (written by default)",
                "Builder::client(false) for a crate that only serves it",
            ),
            (
                self.sides.cli,
                "cli",
                "The command-line client of Builder::cli(true)",
                "drop cli(true)",
            ),
        ];
        needs
            .into_iter()
            .find(|(wanted, feature, _, _)| *wanted && !on(feature))
            .map(|(_, feature, what, instead)| {
                format!(
                    "{what} needs nagare's `{feature}` feature: in Cargo.toml, `nagare = {{ version = \"{}\", features = [\"{feature}\"] }}`; or {instead}",
                    env!("CARGO_PKG_VERSION")
                )
            })
    }

    /// Writes `<out_dir>/<api name>.rs` (and the documents switched on,
    /// `<api name>.asyncapi.json` and `<api name>.openapi.json`) and returns
    /// the code's path.
    pub fn generate(&self, api: &Api, out_dir: impl AsRef<Path>) -> Result<PathBuf, GenerateError> {
        let code = self.render(api)?;
        let stem = names::snake(&api.name);
        let dir = out_dir.as_ref();
        if self.asyncapi {
            write_if_changed(
                &dir.join(format!("{stem}.asyncapi.json")),
                &self.render_asyncapi(api)?,
            )?;
        }
        if self.openapi {
            write_if_changed(
                &dir.join(format!("{stem}.openapi.json")),
                &self.render_openapi(api)?,
            )?;
        }
        if self.javascript {
            let (js, dts) = self.render_javascript(api)?;
            write_if_changed(&dir.join(format!("{stem}.js")), &js)?;
            write_if_changed(&dir.join(format!("{stem}.d.ts")), &dts)?;
            write_if_changed(&dir.join("nagare-client.js"), javascript::RUNTIME_JS)?;
            write_if_changed(&dir.join("nagare-client.d.ts"), javascript::RUNTIME_DTS)?;
        }
        let path = dir.join(format!("{stem}.rs"));
        write_if_changed(&path, &code)?;
        Ok(path)
    }

    /// The documents switched on, as the command line prints them.
    fn documents(&self) -> Vec<cli::Document> {
        let mut out = Vec::new();
        if self.asyncapi {
            out.push(cli::Document {
                command: "asyncapi",
                constant: "ASYNCAPI",
                help: "Prints the AsyncAPI 3.0 document of the API's WebSocket endpoints",
            });
        }
        if self.openapi {
            out.push(cli::Document {
                command: "openapi",
                constant: "OPENAPI",
                help: "Prints the OpenAPI 3.1 document of the API's HTTP endpoints",
            });
        }
        out
    }

    /// The `browser` module: the browser client and its runtime, and a router
    /// serving them under `/js/`.
    fn browser_module(&self, api: &Api) -> Option<proc_macro2::TokenStream> {
        if !self.javascript {
            return None;
        }
        let stem = names::snake(&api.name);
        let (js, dts) = (format!("{stem}.js"), format!("{stem}.d.ts"));
        let (js_path, dts_path) = (format!("/js/{stem}.js"), format!("/js/{stem}.d.ts"));
        // Served by the server side only.
        let router = self.sides.server.then(|| {
            quote::quote! {
                /// Serves the client and its runtime under `/js/`: merge it into
                /// a server's router for pages of the same origin to import it.
                pub fn router() -> nagare::axum::Router {
                    nagare::server::documents(&[
                        (#js_path, "text/javascript", CLIENT_JS),
                        (#dts_path, "application/typescript", CLIENT_DTS),
                        ("/js/nagare-client.js", "text/javascript", RUNTIME_JS),
                        ("/js/nagare-client.d.ts", "application/typescript", RUNTIME_DTS),
                    ])
                }
            }
        });
        Some(quote::quote! {
            /// The API's browser client, generated from the design next to this
            /// code: an ES module with its TypeScript declarations, and the
            /// runtime it imports.
            pub mod browser {
                /// The client module (`import { ... } from "./<api>.js"`).
                pub const CLIENT_JS: &str = include_str!(#js);
                /// Its TypeScript declarations.
                pub const CLIENT_DTS: &str = include_str!(#dts);
                /// The runtime the client imports (`./nagare-client.js`).
                pub const RUNTIME_JS: &str = include_str!("nagare-client.js");
                /// The runtime's TypeScript declarations.
                pub const RUNTIME_DTS: &str = include_str!("nagare-client.d.ts");

                #router
            }
        })
    }

    /// The `specs` module: the documents switched on, next to the code, and
    /// a router serving them.
    fn specs_module(&self, api: &Api) -> Option<proc_macro2::TokenStream> {
        if !self.asyncapi && !self.openapi {
            return None;
        }
        let stem = names::snake(&api.name);
        let mut items = Vec::new();
        let mut routes = Vec::new();
        if self.asyncapi {
            let file = format!("{stem}.asyncapi.json");
            items.push(quote::quote! {
                /// The AsyncAPI 3.0 document of the API's WebSocket endpoints:
                /// channels, messages with their schemas, errors and security.
                pub const ASYNCAPI: &str = include_str!(#file);
            });
            routes.push(quote::quote!((
                "/asyncapi.json",
                "application/json",
                ASYNCAPI
            )));
        }
        if self.openapi {
            let file = format!("{stem}.openapi.json");
            items.push(quote::quote! {
                /// The OpenAPI 3.1 document of the API's HTTP endpoints: unary
                /// methods and the WebSocket upgrades.
                pub const OPENAPI: &str = include_str!(#file);
            });
            routes.push(quote::quote!((
                "/openapi.json",
                "application/json",
                OPENAPI
            )));
        }
        // Served by the server side only.
        let router = self.sides.server.then(|| {
            quote::quote! {
                /// Serves the documents (`/asyncapi.json`, `/openapi.json`): merge
                /// it into a server's router to publish them.
                pub fn router() -> nagare::axum::Router {
                    nagare::server::documents(&[#(#routes),*])
                }
            }
        });
        Some(quote::quote! {
            /// The API's machine-readable descriptions, generated from the design
            /// next to this code.
            pub mod specs {
                #(#items)*
                #router
            }
        })
    }
}

/// Writes `text` to `path` unless it already holds it, so cargo does not
/// rebuild for nothing.
/// The path cargo should watch for a design file `file` as the compiler
/// named it: relative to where rustc ran (the workspace's root, for a member)
/// or absolute. Found from the package's directory up; `None` when it is not
/// a file there (a file of a dependency, say).
fn watched_path(file: &str) -> Option<PathBuf> {
    let path = Path::new(file);
    if path.is_absolute() {
        return path.is_file().then(|| path.to_path_buf());
    }
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from)?;
    manifest
        .ancestors()
        .map(|dir| dir.join(path))
        .find(|candidate| candidate.is_file())
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), GenerateError> {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).map_err(|source| GenerateError::Write {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(())
}

/// What starts an item: the line before it gets a blank line when the previous
/// item ended there.
const ITEM_STARTS: &[&str] = &[
    "///",
    "#[",
    "pub ",
    "impl",
    "fn ",
    "async fn ",
    "mod ",
    "struct ",
    "enum ",
    "trait ",
    "type ",
    "const ",
    "static ",
    "use ",
];

/// A blank line between consecutive items, as a person would leave (prettyplease
/// prints none): before a line that starts an item (a doc comment, an attribute,
/// a declaration) at the indentation of the line before it, when that line ended
/// an item (`}`, `};`, or a one-line item). Consecutive `use` lines stay together.
fn space_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + code.len() / 16);
    let mut previous: Option<&str> = None;
    for line in code.lines() {
        if let Some(prev) = previous {
            let indent = |l: &str| l.len() - l.trim_start().len();
            let (p, l) = (prev.trim_start(), line.trim_start());
            let ended = p == "}"
                || p == "};"
                || ((p.ends_with(';') || p.ends_with("{}")) && starts_item(p));
            let both_use = p.starts_with("use ") && l.starts_with("use ");
            if ended && !both_use && indent(prev) == indent(line) && starts_item(l) {
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
        previous = Some(line);
    }
    out
}

fn starts_item(line: &str) -> bool {
    ITEM_STARTS.iter().any(|s| line.starts_with(s))
}

/// Renders the code of every service of `api` with the default options.
pub fn render(api: &Api) -> Result<String, GenerateError> {
    Builder::new().render(api)
}

/// Writes `<out_dir>/<api name>.rs` with the default options and returns its path.
pub fn generate(api: &Api, out_dir: impl AsRef<Path>) -> Result<PathBuf, GenerateError> {
    Builder::new().generate(api, out_dir)
}
