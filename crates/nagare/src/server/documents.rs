//! Serving what the generator writes besides code next to an API's
//! endpoints: its machine-readable descriptions (AsyncAPI, OpenAPI), so tools
//! and browser developers can fetch them from the running server, and its
//! browser client. Off unless an application merges the router in: a
//! description tells an attacker as much as it tells a developer.
//!
//! Every document goes out with the headers a browser needs to keep it to
//! itself ([`SECURITY_HEADERS`]): a Content-Security-Policy that allows only
//! the server's own scripts, styles and connections (no inline script, no
//! framing), `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` and
//! `Referrer-Policy: no-referrer`.

use axum::http::header;
use axum::routing::get;
use axum::Router;

/// The headers every document is served with: a page served this way can
/// load scripts, styles and images from its own server and open connections
/// (WebSockets included) to it, and nothing else; it cannot be framed.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
];

/// A router answering `GET path` with `document` as `content_type`, for
/// each of `docs`, with [`SECURITY_HEADERS`].
///
/// ```
/// let app = nagare::axum::Router::new().merge(nagare::server::documents(&[
///     ("/asyncapi.json", "application/json", r#"{"asyncapi":"3.0.0"}"#),
/// ]));
/// # drop(app);
/// ```
pub fn documents(docs: &[(&'static str, &'static str, &'static str)]) -> Router {
    docs.iter()
        .fold(Router::new(), |router, &(path, content_type, document)| {
            router.route(
                path,
                get(move || async move {
                    (
                        [
                            (header::CONTENT_TYPE, content_type),
                            // Built into the binary: a new build is a new
                            // version, which a cache must not hide.
                            (header::CACHE_CONTROL, "no-cache"),
                        ],
                        SECURITY_HEADERS,
                        document,
                    )
                }),
            )
        })
}
