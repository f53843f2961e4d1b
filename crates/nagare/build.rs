//! Tells the build scripts of crates that depend on nagare which of its
//! features are on (`DEP_NAGARE_FEATURES`), so that `nagare-codegen` can say
//! "turn on nagare's `cli` feature" in one error instead of letting generated
//! code fail with a dozen.

fn main() {
    let features: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| k.strip_prefix("CARGO_FEATURE_").map(str::to_owned))
        .map(|f| f.to_ascii_lowercase().replace('_', "-"))
        .collect();
    println!("cargo:features={}", features.join(","));
}
