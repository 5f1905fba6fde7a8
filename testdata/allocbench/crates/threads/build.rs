// With the `mimalloc` feature, compiles mimalloc from its C sources with
// the `cc` crate, as testdata/mimalloc's allocdemo does (the same flags, for
// the same reasons: see that build.rs). The sources are not part of this
// repository: pkg/elfcheck's test copies Debian's mimalloc source package
// (src/, include/) into ./mimalloc before the build.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_MIMALLOC").is_none() {
        return;
    }
    let root = Path::new("mimalloc");
    if !root.join("include/mimalloc.h").is_file() || !root.join("src/static.c").is_file() {
        panic!("mimalloc/include/mimalloc.h or mimalloc/src/static.c is missing: copy mimalloc's src/ and include/ here");
    }
    cc::Build::new()
        .file(root.join("src/static.c"))
        .include(root.join("include"))
        .define("NDEBUG", None)
        .flag("-ftls-model=initial-exec")
        .flag("-fvisibility=hidden")
        .flag("-Wno-deprecated-pragma")
        .flag("-Wno-static-in-inline")
        .warnings(false)
        .compile("mimalloc");
    println!("cargo:rerun-if-changed=mimalloc");
}
