//! Generates chatter's server, client, CLI and types from `design.rs`.

#[path = "design.rs"]
mod design;

fn main() {
    nagare_codegen::Builder::new()
        .cli(true)
        .asyncapi(true)
        .openapi(true)
        .javascript(true)
        .build_script(&design::design());
}
