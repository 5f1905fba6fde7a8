package config

// The knobs of the image:* targets (builder base image and index merging).
// Platforms, Tags, Source, Revision and Version are shared with rust:slim.
var (
	// BuilderImage: builder image repository[:tag]; image:push needs a registry repository (default: the repository of DOCKER_METADATA_OUTPUT_JSON's first tag), image:build defaults to muslrust-chef:dev.
	BuilderImage = Knob{Flag: "image", Env: "MUSLRUST_CHEF_PUBLISH_IMAGE", DeprecatedEnv: "MUSLRUST_CHEF_BUILDER_IMAGE"}
	// BuilderOutput: where image:build puts the image: docker (load into the Docker daemon) or oci:DIR (an OCI image layout).
	BuilderOutput = Knob{Flag: "output", Env: "MUSLRUST_CHEF_BUILDER_OUTPUT", Default: "docker"}
	// MuslrustImage: clux/muslrust reference to build on (pin a version-date tag or a digest); default: the Dockerfile's pinned tag.
	MuslrustImage = Knob{Flag: "muslrust", Env: "MUSLRUST_CHEF_MUSLRUST_IMAGE"}
	// CargoChefVersion: prebuilt cargo-chef release to install, or none to skip it; default: the Dockerfile's pinned version.
	CargoChefVersion = Knob{Flag: "chef", Env: "MUSLRUST_CHEF_CARGO_CHEF_VERSION"}
	// CargoChefSHA256: sha256 of the cargo-chef release assets as amd64=<hex>,arm64=<hex>; required with a cargo-chef version other than the pinned one.
	CargoChefSHA256 = Knob{Flag: "chefsha", Env: "MUSLRUST_CHEF_CARGO_CHEF_SHA256"}
	// CargoChefURL: base URL of cargo-chef release downloads (a mirror); default: GitHub releases.
	CargoChefURL = Knob{Env: "MUSLRUST_CHEF_CARGO_CHEF_URL"}
	// CrossToolchain: none skips the cross-compilation toolchain (the musl Rust targets, zig behind the helper's wrapper) and the image's cross declaration (offline builds); default: the Dockerfile's pins.
	CrossToolchain = Knob{Env: "MUSLRUST_CHEF_CROSS_TOOLCHAIN"}
	// Cache: registry cache refs, comma-separated: the first is exported (mode=max) and imported, the rest imported; off disables; default <repo>:buildcache-<branch> plus <repo>:buildcache-<main branch>.
	Cache = Knob{Flag: "cache", Env: "MUSLRUST_CHEF_CACHE"}
	// MainBranch: branch whose cache every build imports as a fallback.
	MainBranch = Knob{Env: "MUSLRUST_CHEF_MAIN_BRANCH", Default: "main"}
	// PushByDigest: push without tags, by digest only (one platform per runner; image:merge makes the index).
	PushByDigest = Knob{Flag: "bydigest", Env: "MUSLRUST_CHEF_PUSH_BY_DIGEST"}
	// Digests: comma-separated per-platform images repo@sha256:... for image:merge, all in one repository.
	Digests = Knob{Flag: "digests", Env: "MUSLRUST_CHEF_DIGESTS"}
)
