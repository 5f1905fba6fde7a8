// Compiles csrc/mix.c for the target with the `cc` crate, which picks the
// compiler from CC_<triple> (set by muslrust-chef from the builder's
// declaration), and records the triple.
fn main() {
    cc::Build::new().file("csrc/mix.c").compile("mix");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
    println!("cargo:rustc-env=CROSSAPP_TARGET={}", target);
    println!("cargo:rerun-if-changed=csrc/mix.c");
    println!("cargo:rerun-if-changed=build.rs");
}
