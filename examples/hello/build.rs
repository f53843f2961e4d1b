#[path = "design.rs"]
mod design;

fn main() {
    nagare_codegen::Builder::new()
        .cli(true)
        .build_script(&design::design());
}
