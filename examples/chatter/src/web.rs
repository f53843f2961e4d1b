//! The chatter web page: one HTML page, embedded in the binary, built on the
//! generated browser client (served next to it under `/js/`). Log in, chat
//! through `echoer`, see everyone's messages through `subscribe` (which
//! reconnects and resumes), see who is here, and load `history` in either
//! view. Same-origin, so the default origin policy lets it upgrade.

/// The page.
pub const PAGE: &str = include_str!("../web/index.html");

/// Serves the page at `/` and the browser client under `/js/`.
pub fn router() -> nagare::axum::Router {
    nagare::server::documents(&[("/", "text/html; charset=utf-8", PAGE)])
        .merge(crate::browser::router())
}
