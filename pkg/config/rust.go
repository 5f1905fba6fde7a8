package config

import (
	"os"
	"strings"
)

var osLookupEnv = os.LookupEnv

// The knobs of rust:cook and rust:build (besides the rust:slim ones they
// share: Bin, Platforms, Dist, BaseImage, Output, Image, Tags, Source,
// Revision, Version, and Cache / MainBranch shared with image:push).
// Cargo.toml metadata sits between the environment and Default: see
// Metadata.
var (
	RustBuilder = Knob{Flag: "builder", Env: "MUSLRUST_CHEF_BUILDER_IMAGE",
		Help: "published builder image with cargo (an index with every requested platform, tag or digest); default: none, the kit builds its own builder from images/muslrust-chef/Dockerfile in the same BuildKit solve"}
	BuilderArgs = Knob{Env: "MUSLRUST_CHEF_BUILDER_ARGS",
		Help: "comma-separated KEY=VALUE build arguments of the kit's own builder (images/muslrust-chef/Dockerfile), e.g. ZIG_BASE_URL=https://mirror.example/zig; ignored with MUSLRUST_CHEF_BUILDER_IMAGE"}
	Profile = Knob{Flag: "profile", Env: "MUSLRUST_CHEF_PROFILE", Default: "release",
		Help: "cargo profile: release, dev or a custom one"}
	Features = Knob{Flag: "features", Env: "MUSLRUST_CHEF_FEATURES",
		Help: "comma-separated cargo features"}
	NoDefaultFeatures = Knob{Env: "MUSLRUST_CHEF_NO_DEFAULT_FEATURES", Default: "false",
		Help: "true passes --no-default-features"}
	Locked = Knob{Env: "MUSLRUST_CHEF_LOCKED", Default: "true",
		Help: "false drops --locked (Cargo.lock may then be updated inside the build)"}
	Strip = Knob{Env: "MUSLRUST_CHEF_STRIP", Default: "true",
		Help: "false keeps symbols: no CARGO_PROFILE_<PROFILE>_STRIP=symbols for cook and build"}
	Libc = Knob{Env: "MUSLRUST_CHEF_LIBC",
		Help: "libc half of the target triple, musl or gnu; default: the builder image's io.muslrust-chef.libc label, else musl"}
	RequireAllocator = Knob{Env: "MUSLRUST_CHEF_REQUIRE_ALLOCATOR",
		Help: "mimalloc or jemalloc: verify fails unless every built binary allocates with it; default: none, a multi-threaded binary on musl's malloc only gets a warning"}
	RustFlags = Knob{Env: "MUSLRUST_CHEF_RUSTFLAGS",
		Help: "RUSTFLAGS for cook and build; default: the builder image's io.muslrust-chef.rustflags label, else empty"}
	Strategy = Knob{Flag: "strategy", Env: "MUSLRUST_CHEF_STRATEGY", Default: "auto",
		Help: "cross (cook and build once on the build platform, cross-compiling to every target triple), emulate (every platform in its own-arch builder, foreign ones under QEMU), split (exactly one platform, pushed by digest for image:merge) or auto (default: cross when the builder image declares it can cross-compile to every requested platform, else emulate)"}
)

// Lookup resolves the knob from the flag or the environment only, saying
// whether either was set, so that Cargo.toml metadata can come next.
func (k Knob) Lookup(flag *string) (string, bool) {
	if flag != nil {
		return strings.TrimSpace(*flag), true
	}
	if v, ok := lookupEnv(k.Env); ok {
		return v, true
	}
	return "", false
}

// Or resolves flag > environment > fallback > Default: fallback is the
// Cargo.toml metadata value, empty when absent.
func (k Knob) Or(flag *string, fallback string) string {
	if v, ok := k.Lookup(flag); ok {
		return v
	}
	if fallback != "" {
		return fallback
	}
	return k.Default
}

func lookupEnv(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	v, ok := osLookupEnv(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}
