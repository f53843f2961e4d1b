//! Serving what the generator writes besides code next to an API's
//! endpoints: its machine-readable descriptions (AsyncAPI, OpenAPI), so tools
//! and browser developers can fetch them from the running server, and its
//! browser client. Off unless an application merges the router in: a
//! description tells an attacker as much as it tells a developer.

use axum::http::header;
use axum::routing::get;
use axum::Router;

/// A router answering `GET path` with `document` as `content_type`, for
/// each of `docs`.
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
                        document,
                    )
                }),
            )
        })
}
