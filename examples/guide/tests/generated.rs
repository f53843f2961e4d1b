//! The guide's generated code, snapshot-tested: a change to the generator or the
//! design shows up as a reviewable diff (`cargo insta review`).

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
    insta::assert_snapshot!("guide", code);
    let asyncapi = builder.render_asyncapi(&design).expect("asyncapi");
    insta::assert_snapshot!("guide.asyncapi", asyncapi);
    let openapi = builder.render_openapi(&design).expect("openapi");
    insta::assert_snapshot!("guide.openapi", openapi);
    let (js, dts) = builder.render_javascript(&design).expect("javascript");
    insta::assert_snapshot!("guide.js", js);
    insta::assert_snapshot!("guide.d.ts", dts);
}
