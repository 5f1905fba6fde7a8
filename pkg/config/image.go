package config

import (
	"context"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/builderimage"
)

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

// ImageSettings are the image:* knobs as given (flag, else environment,
// else default), before validation: builderimage's Plan* validate them
// and name the knob in their usage errors (Explain).
type ImageSettings struct {
	Image         string // MUSLRUST_CHEF_PUBLISH_IMAGE
	Platforms     string // MUSLRUST_CHEF_PLATFORMS
	Tags          string // MUSLRUST_CHEF_TAGS
	Cache         string // MUSLRUST_CHEF_CACHE
	MainBranch    string // MUSLRUST_CHEF_MAIN_BRANCH
	PushByDigest  bool   // MUSLRUST_CHEF_PUSH_BY_DIGEST
	Output        string // MUSLRUST_CHEF_BUILDER_OUTPUT
	MuslrustImage string // MUSLRUST_CHEF_MUSLRUST_IMAGE
	ChefVersion   string // MUSLRUST_CHEF_CARGO_CHEF_VERSION
	ChefSHA256    string // MUSLRUST_CHEF_CARGO_CHEF_SHA256
	ChefURL       string // MUSLRUST_CHEF_CARGO_CHEF_URL
	// CrossToolchain "none" skips the cross-compilation toolchain and
	// declaration; empty keeps the Dockerfile's pins.
	CrossToolchain string // MUSLRUST_CHEF_CROSS_TOOLCHAIN
	Source         string // MUSLRUST_CHEF_SOURCE
	Revision       string // MUSLRUST_CHEF_REVISION
	Version        string // MUSLRUST_CHEF_VERSION
	// BuilderArgs are more KEY=VALUE build arguments of the Dockerfile
	// (download mirrors), the same list rust:build gives the kit's own
	// builder, so one setting serves both.
	BuilderArgs string // MUSLRUST_CHEF_BUILDER_ARGS
}

// ImageFlags are the image:* targets' parameters; nil means not given.
type ImageFlags struct {
	Image, Platforms, Tags, Cache, Output, Muslrust, Chef, ChefSHA256, Source, Revision, Version *string
	PushByDigest                                                                                 *bool
}

// ImageFromKnobs resolves every image:* knob from its flag or the environment.
func ImageFromKnobs(f ImageFlags) (ImageSettings, error) {
	by, err := PushByDigest.Bool(f.PushByDigest)
	if err != nil {
		return ImageSettings{}, err
	}
	return ImageSettings{
		Image:          BuilderImage.Value(f.Image),
		Platforms:      Platforms.Value(f.Platforms),
		Tags:           Tags.Value(f.Tags),
		Cache:          Cache.Value(f.Cache),
		MainBranch:     MainBranch.Value(nil),
		PushByDigest:   by,
		Output:         BuilderOutput.Value(f.Output),
		MuslrustImage:  MuslrustImage.Value(f.Muslrust),
		ChefVersion:    CargoChefVersion.Value(f.Chef),
		ChefSHA256:     CargoChefSHA256.Value(f.ChefSHA256),
		ChefURL:        CargoChefURL.Value(nil),
		CrossToolchain: CrossToolchain.Value(nil),
		Source:         Source.Value(f.Source),
		Revision:       Revision.Value(f.Revision),
		Version:        Version.Value(f.Version),
		BuilderArgs:    BuilderArgs.Value(nil),
	}, nil
}

// Options are the settings as builderimage options, with what CI gives:
// the branch being built (GITHUB_HEAD_REF, GITHUB_REF, else git), the
// tag sources (DOCKER_METADATA_OUTPUT_JSON, GITHUB_REF) and the label
// defaults (GITHUB_SHA or git's HEAD, the GitHub repository).
func (s ImageSettings) Options(ctx context.Context) []builderimage.Option {
	main := FirstNonEmpty(s.MainBranch, "main")
	return []builderimage.Option{
		builderimage.WithImage(s.Image),
		builderimage.WithPlatforms(s.Platforms),
		builderimage.WithTags(List(s.Tags)...),
		builderimage.WithCache(s.Cache),
		builderimage.WithBranch(buildcache.Branch(ctx, main, GitHubHeadRef.Value(nil), GitHubRef.Value(nil)), main),
		builderimage.WithPushByDigest(s.PushByDigest),
		builderimage.WithOutput(s.Output),
		builderimage.WithMuslrustImage(s.MuslrustImage),
		builderimage.WithCargoChef(s.ChefVersion, s.ChefSHA256, s.ChefURL),
		builderimage.WithCrossToolchain(s.CrossToolchain),
		builderimage.WithBuilderArgs(s.BuilderArgs),
		builderimage.WithLabels(builderimage.Labels{Version: s.Version, Revision: s.Revision, Source: s.Source}),
		builderimage.WithLabelDefaults(builderimage.Labels{Revision: GitRevision(ctx, "."), Source: GitHubSource()}),
		builderimage.WithTagSources(DockerMetadata.Value(nil), GitHubRef.Value(nil)),
	}
}

// MergeOptions are image:merge's tag options: the tags as given, and the
// tag sources CI gives (DOCKER_METADATA_OUTPUT_JSON, GITHUB_REF).
func MergeOptions(tags string) []builderimage.Option {
	return []builderimage.Option{builderimage.WithTags(List(tags)...), builderimage.WithTagSources(DockerMetadata.Value(nil), GitHubRef.Value(nil))}
}
