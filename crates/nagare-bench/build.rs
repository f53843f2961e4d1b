//! Generates the typed echo of `design.rs`, as a user's crate would.

#[path = "design.rs"]
mod design;

fn main() {
    nagare_codegen::Builder::new().build_script(&design::design());
}
