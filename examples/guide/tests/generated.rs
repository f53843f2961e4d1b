//! The guide's generated code, snapshot-tested: a change to the generator or the
//! design shows up as a reviewable diff (`cargo insta review`).

#[path = "../design.rs"]
mod design;

#[test]
fn generated_code_is_stable() {
    // Exactly what build.rs generates.
    let code = nagare_codegen::Builder::new()
        .cli(true)
        .render(&design::design())
        .expect("the guide design is valid");
    insta::assert_snapshot!("guide", code);
}
