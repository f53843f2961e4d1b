//! Security schemes (Goa's `BasicAuthSecurity`, `JWTSecurity`, `APIKeySecurity`) and
//! their use on methods and services.
//!
//! ```
//! use nagare_design::*;
//!
//! let design = api("chatter", |a| {
//!     a.jwt_security("jwt", |s| {
//!         s.scope("stream:read", "Read-only access");
//!         s.scope("stream:write", "Read and write access");
//!     });
//!     a.service("chatter", |s| {
//!         s.method("subscribe", |m| {
//!             m.security("jwt", ["stream:read"]);
//!             m.payload(|p| {
//!                 p.token("token", STRING, "JWT used for authentication");
//!                 p.required(["token"]);
//!             });
//!             m.streaming_result_type(STRING);
//!             m.http(|h| {
//!                 h.get("/subscribe");
//!             });
//!         });
//!     });
//! });
//! assert!(design.validate().is_ok());
//! ```

use crate::source::Source;

/// The kind of a security scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemeKind {
    /// HTTP basic authentication: a user name and a password.
    Basic,
    /// A JWT bearer token, with scopes.
    Jwt,
    /// An API key.
    ApiKey,
}

/// A security scheme declared at API level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityScheme {
    /// The scheme's name, as methods refer to it.
    pub name: String,
    /// Basic, JWT or API key.
    pub kind: SchemeKind,
    /// What the scheme is.
    pub description: Option<String>,
    /// Scopes the scheme defines (JWT), with their descriptions.
    pub scopes: Vec<(String, String)>,
    /// Where the scheme is declared.
    pub source: Option<Source>,
}

impl SecurityScheme {
    pub(crate) fn new(name: &str, kind: SchemeKind, source: Source) -> Self {
        SecurityScheme {
            name: name.to_owned(),
            kind,
            description: None,
            scopes: Vec::new(),
            source: Some(source),
        }
    }

    /// Documents the scheme.
    pub fn description(&mut self, text: &str) -> &mut Self {
        self.description = Some(text.to_owned());
        self
    }

    /// Declares a scope (Goa's `Scope`).
    pub fn scope(&mut self, name: &str, description: &str) -> &mut Self {
        self.scopes.push((name.to_owned(), description.to_owned()));
        self
    }
}

/// A method's (or service's) use of a scheme, with the scopes it requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityRequirement {
    /// The scheme's name.
    pub scheme: String,
    /// The scopes required.
    pub scopes: Vec<String>,
    /// Where the requirement is written.
    pub source: Option<Source>,
}
