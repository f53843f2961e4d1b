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
//!             m.payload(|p: &mut Object| {
//!                 p.token("token", STRING, "JWT used for authentication");
//!                 p.required(["token"]);
//!             });
//!             m.streaming_result(STRING);
//!             m.http(|h| {
//!                 h.get("/subscribe");
//!             });
//!         });
//!     });
//! });
//! assert!(design.validate().is_ok());
//! ```

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
    pub name: String,
    pub kind: SchemeKind,
    pub description: Option<String>,
    /// Scopes the scheme defines (JWT), with their descriptions.
    pub scopes: Vec<(String, String)>,
}

impl SecurityScheme {
    pub(crate) fn new(name: &str, kind: SchemeKind) -> Self {
        SecurityScheme {
            name: name.to_owned(),
            kind,
            description: None,
            scopes: Vec::new(),
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
    pub scheme: String,
    pub scopes: Vec<String>,
}
