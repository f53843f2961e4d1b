//! Chatter's generated code, snapshot-tested.

#[path = "../design.rs"]
mod design;

#[test]
fn generated_code_is_stable() {
    // Exactly what build.rs generates.
    let code = nagare_codegen::Builder::new()
        .cli(true)
        .render(&design::design())
        .expect("the chatter design is valid");
    insta::assert_snapshot!("chatter", code);
}
