//! The chatter web page: one HTML page with its script and style sheet,
//! embedded in the binary, built on the generated browser client (served next
//! to it under `/js/`). Log in, chat through `echoer`, see everyone's messages
//! through `subscribe` (which reconnects and resumes), see who is here, and
//! load `history` in either view. Same-origin, so the default origin policy
//! lets it upgrade; nothing inline, so its Content-Security-Policy allows no
//! inline script or style.

/// The page.
pub const PAGE: &str = include_str!("../web/index.html");

/// The page's script.
pub const SCRIPT: &str = include_str!("../web/chatter.js");

/// The page's style sheet.
pub const STYLE: &str = include_str!("../web/chatter.css");

/// Serves the page at `/` (its script and style next to it) and the browser
/// client under `/js/`.
pub fn router() -> nagare::axum::Router {
    nagare::server::documents(&[
        ("/", "text/html; charset=utf-8", PAGE),
        ("/chatter.js", "text/javascript; charset=utf-8", SCRIPT),
        ("/chatter.css", "text/css; charset=utf-8", STYLE),
    ])
    .merge(crate::browser::router())
}
