//! The features design's AsyncAPI 3.0 and OpenAPI 3.1 documents (every
//! streaming pattern, views, security schemes of all three kinds, path,
//! header and cookie parameters), checked by the ecosystem's own validators.

use nagare_features::specs::{ASYNCAPI, OPENAPI};

#[test]
fn the_documents_pass_the_asyncapi_and_openapi_validators() {
    nagare_testkit::documents::assert_valid("features", ASYNCAPI, OPENAPI);
}
