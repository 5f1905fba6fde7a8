# The musl stand-in builder (internal/standin/musl.go): Debian's rustc 1.63
# with a musl standard library built here once, from rust-src, for both
# triples; zig 0.11 (npm tarball) as C compiler, archiver and linker behind
# the kit's own wrapper. Every RUN runs on the build platform (amd64): the
# arm64 variant only copies, so nothing is emulated.
ARG BASE

FROM --platform=$BUILDPLATFORM ${BASE} AS std
# std's crates.io dependencies come from Debian's directory source; four of
# Debian's manifests lost the plumbing std needs (the rustc-dep-of-std
# feature and its optional std/core/alloc/compiler_builtins dependencies):
# put it back. Harmless for other users: only that feature enables it.
RUN set -eu; r=/usr/share/cargo/registry; \
    f=$r/cfg-if-0.1.10/Cargo.toml; \
    sed -i 's/^#rustc-dep-of-std = /rustc-dep-of-std = /' $f; \
    printf '\n[dependencies.compiler_builtins]\nversion = "0.1.2"\noptional = true\n' >> $f; \
    f=$r/hashbrown-0.12.3/Cargo.toml; \
    sed -i '/^rustc-dep-of-std = \[/,/^\]/ s/^    "core",$/    "core",\n    "alloc",/' $f; \
    printf '\n[dependencies.alloc]\nversion = "1.0.0"\noptional = true\npackage = "rustc-std-workspace-alloc"\n' >> $f; \
    f=$r/unicode-width-0.1.10/Cargo.toml; \
    sed -i 's/^no_std = \[\]$/no_std = []\nrustc-dep-of-std = ["std", "core", "compiler_builtins"]/' $f; \
    printf '\n[dependencies.core]\nversion = "1.0"\noptional = true\npackage = "rustc-std-workspace-core"\n\n[dependencies.std]\nversion = "1.0"\noptional = true\npackage = "rustc-std-workspace-std"\n' >> $f; \
    f=$r/getopts-0.2.21/Cargo.toml; \
    printf '\n[dependencies.core]\nversion = "1.0"\noptional = true\npackage = "rustc-std-workspace-core"\n\n[dependencies.std]\nversion = "1.0"\noptional = true\npackage = "rustc-std-workspace-std"\n\n[features]\nrustc-dep-of-std = ["unicode-width/rustc-dep-of-std", "std", "core"]\n' >> $f; \
    grep -q '^rustc-dep-of-std = \["core", "compiler_builtins"\]' $r/cfg-if-0.1.10/Cargo.toml; \
    grep -q '"alloc",' $r/hashbrown-0.12.3/Cargo.toml; \
    grep -q '^rustc-dep-of-std' $r/unicode-width-0.1.10/Cargo.toml
# rust-src as Debian ships it: no Cargo.lock, std wanting compiler_builtins
# 0.1.73 (Debian has 0.1.70), target-only and backtrace-symbolising
# dependencies Debian has in other versions. std's backtrace feature stays
# off, so backtraces are not symbolised.
RUN set -eu; s=/usr/lib/rustlib/src/rust; f=$s/library/std/Cargo.toml; \
    printf 'version = 3\n' > $s/Cargo.lock; cp $s/Cargo.lock $s/library/Cargo.lock; \
    sed -i 's/^compiler_builtins = { version = "0.1.73" }/compiler_builtins = { version = "0.1.70" }/' $f; \
    sed -i '/^addr2line = /d; /^miniz_oxide = /d; /^\[dependencies.object\]/,/^features = /d; /^\[target\./,/^$/d' $f; \
    sed -i '/^backtrace = \[/,/^\]/c backtrace = ["gimli-symbolize"]' $f; \
    grep -q '0.1.70' $f; ! grep -q '^\[target\.\|^addr2line\|^\[dependencies.object\]' $f
# std once per triple with unwinding panics (a panic=abort std would break
# catch_unwind and crates built with the default profile), its rlibs
# installed where rustc looks for the triple's sysroot: after this a plain
# `cargo build --target <triple>` needs no build-std flags.
ARG TRIPLES="x86_64-unknown-linux-musl aarch64-unknown-linux-musl"
RUN set -eu; mkdir -p /tmp/stdbuild/src; cd /tmp/stdbuild; \
    printf '[package]\nname = "musl_std_throwaway"\nversion = "0.0.0"\nedition = "2021"\n' > Cargo.toml; \
    : > src/lib.rs; \
    for t in ${TRIPLES}; do \
        RUSTC_BOOTSTRAP=1 cargo build --release --target "$t" \
            -Zbuild-std=std,panic_unwind,panic_abort -Zbuild-std-features=default,panic-unwind; \
        mkdir -p /sysroot/usr/lib/rustlib/$t/lib; \
        for f in target/$t/release/deps/lib*.rlib; do \
            case "$f" in *musl_std_throwaway*) ;; *) cp "$f" /sysroot/usr/lib/rustlib/$t/lib/ ;; esac; \
        done; \
        ls /sysroot/usr/lib/rustlib/$t/lib; \
    done

# zig and the helper for the build platform; zig's per-target caches
# (musl libc, compiler_rt, libunwind) are built here once by linking a
# program for each triple through the wrapper, and shipped in the image.
# Stripped links (the kit's default strip=symbols passes -s) are built
# apart by zig, so both are linked.
FROM --platform=$BUILDPLATFORM ${BASE} AS warm
ARG BUILDARCH
COPY zig.tgz /tmp/zig.tgz
RUN set -eu; mkdir -p /tmp/zig; tar -xzf /tmp/zig.tgz -C /tmp/zig; \
    z="$(find /tmp/zig -maxdepth 3 -type f -name zig -perm -u+x | head -n 1)"; \
    [ -n "$z" ] || { echo "no zig executable in zig.tgz" >&2; exit 1; }; \
    mkdir -p /opt; mv "$(dirname "$z")" /opt/zig; rm -rf /tmp/zig /tmp/zig.tgz; /opt/zig/zig version
COPY muslrust-chef-${BUILDARCH} /usr/local/bin/muslrust-chef
COPY --from=std /sysroot/usr/lib/rustlib/ /usr/lib/rustlib/
COPY cargo-config.toml /usr/local/cargo/config.toml
ENV ZIG_GLOBAL_CACHE_DIR=/opt/zig-cache MUSLRUST_CHEF_ZIG=/opt/zig/zig
# @TOOLCHAIN_ENV@
ARG TRIPLES="x86_64-unknown-linux-musl aarch64-unknown-linux-musl"
RUN set -eu; muslrust-chef zig links --dir /usr/local/bin ${TRIPLES}; \
    mkdir -p /links; muslrust-chef zig links --dir /links ${TRIPLES}; \
    mkdir -p /tmp/warm/src; cd /tmp/warm; \
    printf '[package]\nname = "warm"\nversion = "0.0.0"\nedition = "2021"\n' > Cargo.toml; \
    printf 'fn main() { let r = std::panic::catch_unwind(|| panic!("caught")); let f = std::fs::File::open("/proc/self/exe").map(|_| "ok"); println!("warm {} {:?}", r.is_err(), f); }\n' > src/main.rs; \
    for t in ${TRIPLES}; do \
        cargo build --release --target "$t"; \
        CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --release --target "$t"; \
    done; \
    ./target/x86_64-unknown-linux-musl/release/warm; \
    rm -rf /tmp/warm

FROM ${BASE}
ARG TARGETARCH
COPY --from=std /sysroot/usr/lib/rustlib/ /usr/lib/rustlib/
COPY --from=warm /opt/zig /opt/zig
COPY --from=warm /opt/zig-cache /opt/zig-cache
COPY cargo-config.toml /usr/local/cargo/config.toml
COPY muslrust-chef-${TARGETARCH} /usr/local/bin/muslrust-chef
# The link names, made by `muslrust-chef zig links` on the build platform
# (symlinks to /usr/local/bin/muslrust-chef, whatever its architecture).
COPY --from=warm /links/ /usr/local/bin/
ENV ZIG_GLOBAL_CACHE_DIR=/opt/zig-cache MUSLRUST_CHEF_ZIG=/opt/zig/zig
# @TOOLCHAIN_ENV@
# @LABELS@
