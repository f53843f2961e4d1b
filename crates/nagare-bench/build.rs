//! Generates the typed echo of `design.rs`, as a user's crate would.

#[path = "design.rs"]
mod design;

fn main() {
    println!("cargo:rerun-if-changed=design.rs");
    nagare_codegen::Builder::new().build_script(&design::design());
}
