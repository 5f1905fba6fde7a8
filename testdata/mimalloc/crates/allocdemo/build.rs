// Compiles mimalloc from its C sources with the `cc` crate, which takes the
// C compiler from CC_<triple> (muslrust-chef points it at its zig wrapper,
// `muslrust-chef zig cc`, for both musl triples). The sources are not part
// of this repository: pkg/pipeline's test copies Debian's mimalloc source
// package (src/, include/) into ./mimalloc before the build.
use std::path::Path;

fn main() {
    let root = Path::new("mimalloc");
    if !root.join("include/mimalloc.h").is_file() || !root.join("src/static.c").is_file() {
        panic!(
            "mimalloc/include/mimalloc.h or mimalloc/src/static.c is missing: copy mimalloc's \
             src/ and include/ (Debian's source package, see scripts/provision.d/mimalloc.sh) \
             into {}",
            std::env::current_dir().map(|d| d.join("mimalloc").display().to_string()).unwrap_or_default()
        );
    }
    cc::Build::new()
        // static.c #includes every other source file: one object, so the
        // linker takes all of mimalloc (its constructor included) as soon
        // as one mi_* function is referenced.
        .file(root.join("src/static.c"))
        .include(root.join("include"))
        // The cc crate never defines NDEBUG; without it mimalloc builds
        // with MI_DEBUG=2 (internal assertions, padding, slow paths), which
        // is what its CMake does for Debug builds, not Release.
        .define("NDEBUG", None)
        // No MI_MALLOC_OVERRIDE (and no alloc-override.c): mimalloc must not
        // define malloc/free itself. In a static musl link those names are
        // musl's (libc.a), and C code keeps using them; Rust allocates
        // through mimalloc's own API, via #[global_allocator].
        //
        // The TLS model mimalloc's CMake uses on Linux. The cc crate
        // compiles with -fPIC, whose default (general-dynamic) would go
        // through __tls_get_addr; the binary is static, so initial-exec is
        // exact and cheaper.
        .flag("-ftls-model=initial-exec")
        // Like mimalloc's CMake: only the mi_* API is exported.
        .flag("-fvisibility=hidden")
        // zig 0.11's clang 16 marks C11's ATOMIC_VAR_INIT deprecated, which
        // mimalloc 2.0 uses everywhere; each warning would become a cargo
        // warning.
        .flag("-Wno-deprecated-pragma")
        // As mimalloc's CMake does for clang: alloc.c's inline mi_new
        // functions call static helpers, which clang warns about.
        .flag("-Wno-static-in-inline")
        // Nothing like -march=native: the code is cross-compiled, and the
        // image must run on any CPU of the target architecture.
        .warnings(false)
        .compile("mimalloc");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
    println!("cargo:rustc-env=ALLOCDEMO_TARGET={}", target);
    println!("cargo:rerun-if-changed=mimalloc");
    println!("cargo:rerun-if-changed=build.rs");
}
