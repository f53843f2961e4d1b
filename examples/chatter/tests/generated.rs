//! Chatter's generated code, snapshot-tested.

#[path = "../design.rs"]
mod design;

#[test]
fn generated_code_is_stable() {
    // Exactly what build.rs generates.
    let builder = nagare_codegen::Builder::new()
        .cli(true)
        .asyncapi(true)
        .openapi(true)
        .javascript(true);
    let design = design::design();
    let code = builder.render(&design).expect("the design is valid");
    insta::assert_snapshot!("chatter", code);
    let asyncapi = builder.render_asyncapi(&design).expect("asyncapi");
    insta::assert_snapshot!("chatter.asyncapi", asyncapi);
    let openapi = builder.render_openapi(&design).expect("openapi");
    insta::assert_snapshot!("chatter.openapi", openapi);
    let (js, dts) = builder.render_javascript(&design).expect("javascript");
    insta::assert_snapshot!("chatter.js", js);
    insta::assert_snapshot!("chatter.d.ts", dts);
}
