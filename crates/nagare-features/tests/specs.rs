//! The features design's AsyncAPI 3.0 and OpenAPI 3.1 documents (every
//! streaming pattern, views, security schemes of all three kinds, path,
//! header and cookie parameters), checked by the ecosystem's own validators.

use nagare_testkit::node::{validate, Spec};

#[test]
fn the_documents_pass_the_asyncapi_and_openapi_validators() {
    for (spec, document) in [
        (Spec::AsyncApi, nagare_features::specs::ASYNCAPI),
        (Spec::OpenApi, nagare_features::specs::OPENAPI),
    ] {
        match validate(spec, "features", document) {
            Ok(report) => println!("{report}"),
            Err(report) => panic!("{spec:?} document refused:\n{report}"),
        }
    }
}
