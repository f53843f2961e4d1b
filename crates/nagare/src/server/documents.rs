//! Serving an API's machine-readable descriptions (the AsyncAPI and OpenAPI
//! documents the generator writes) next to its endpoints, so tools and
//! browser developers can fetch them from the running server. Off unless an
//! application merges the router in: a document tells an attacker as much as
//! it tells a developer.

use axum::http::header;
use axum::routing::get;
use axum::Router;

/// A router answering `GET path` with the JSON `document`, for each pair.
///
/// ```
/// let app = nagare::axum::Router::new().merge(nagare::server::documents(&[
///     ("/asyncapi.json", r#"{"asyncapi":"3.0.0"}"#),
/// ]));
/// # drop(app);
/// ```
pub fn documents(docs: &[(&'static str, &'static str)]) -> Router {
    docs.iter()
        .fold(Router::new(), |router, &(path, document)| {
            router.route(
                path,
                get(move || async move {
                    (
                        [
                            (header::CONTENT_TYPE, "application/json"),
                            (header::CACHE_CONTROL, "no-cache"),
                        ],
                        document,
                    )
                }),
            )
        })
}
