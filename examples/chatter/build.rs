//! Generates chatter's server, client, CLI and types from `design.rs`.

#[path = "design.rs"]
mod design;

fn main() {
    println!("cargo:rerun-if-changed=design.rs");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    if let Err(e) = nagare_codegen::Builder::new()
        .cli(true)
        .generate(&design::design(), &out)
    {
        for line in e.to_string().lines() {
            println!("cargo:warning={line}");
        }
        std::process::exit(1);
    }
}
