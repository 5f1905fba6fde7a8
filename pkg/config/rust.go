package config

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

var osLookupEnv = os.LookupEnv

// The knobs of rust:cook and rust:build (besides the rust:slim ones they
// share: Bin, Platforms, Dist, BaseImage, Output, Image, Tags, Source,
// Revision, Version, and Cache / MainBranch shared with image:push).
// Cargo.toml metadata sits between the environment and Default: see
// Metadata.
var (
	// RustBuilder: published builder image with cargo (an index with every requested platform, tag or digest); default: none, the kit builds its own builder from images/muslrust-chef/Dockerfile in the same BuildKit solve
	RustBuilder = Knob{Flag: "builder", Env: "MUSLRUST_CHEF_BUILDER_IMAGE"}
	// BuilderArgs: comma-separated KEY=VALUE build arguments of the kit's own builder (images/muslrust-chef/Dockerfile), e.g. ZIG_BASE_URL=https://mirror.example/zig; ignored with MUSLRUST_CHEF_BUILDER_IMAGE
	BuilderArgs = Knob{Env: "MUSLRUST_CHEF_BUILDER_ARGS"}
	// Profile: cargo profile: release, dev or a custom one
	Profile = Knob{Flag: "profile", Env: "MUSLRUST_CHEF_PROFILE", Default: "release"}
	// Features: comma-separated cargo features
	Features = Knob{Flag: "features", Env: "MUSLRUST_CHEF_FEATURES"}
	// NoDefaultFeatures: true passes --no-default-features
	NoDefaultFeatures = Knob{Env: "MUSLRUST_CHEF_NO_DEFAULT_FEATURES", Default: "false"}
	// Locked: false drops --locked (Cargo.lock may then be updated inside the build)
	Locked = Knob{Env: "MUSLRUST_CHEF_LOCKED", Default: "true"}
	// Strip: false keeps symbols: no CARGO_PROFILE_<PROFILE>_STRIP=symbols for cook and build
	Strip = Knob{Env: "MUSLRUST_CHEF_STRIP", Default: "true"}
	// Libc: libc half of the target triple, musl or gnu; default: the builder image's io.muslrust-chef.libc label, else musl
	Libc = Knob{Env: "MUSLRUST_CHEF_LIBC"}
	// RequireAllocator: mimalloc or jemalloc: verify fails unless every built binary allocates with it; default: none, a multi-threaded binary on musl's malloc only gets a warning
	RequireAllocator = Knob{Env: "MUSLRUST_CHEF_REQUIRE_ALLOCATOR"}
	// RustFlags: RUSTFLAGS for cook and build; default: the builder image's io.muslrust-chef.rustflags label, else empty
	RustFlags = Knob{Env: "MUSLRUST_CHEF_RUSTFLAGS"}
	// Strategy: cross (cook and build once on the build platform, cross-compiling to every target triple), emulate (every platform in its own-arch builder, foreign ones under QEMU), split (each platform on a BuildKit of its own architecture: one platform per run, pushed by digest for image:merge, or several platforms spread over several BuildKit nodes from one run, see MUSLRUST_CHEF_BUILDKIT_HOST_<ARCH>) or auto (default: cross when the builder image declares it can cross-compile to every requested platform, else emulate)
	Strategy = Knob{Flag: "strategy", Env: "MUSLRUST_CHEF_STRATEGY", Default: "auto"}
	// Compare: the image (repo:tag or repo@sha256:...) whose provenance the "why did cook run" block compares with when cook runs; default: the tag being replaced (registry output), else the previous build's provenance in dist/
	Compare = Knob{Flag: "compare", Env: "MUSLRUST_CHEF_COMPARE"}
	// SBOM: false skips cargo metadata / cargo tree in the build and the SBOMs; the provenance and its cook key stay
	SBOM = Knob{Env: "MUSLRUST_CHEF_SBOM", Default: "true"}
	// Referrers: false pushes the image without its records (SBOMs, provenance) as OCI referrers, for a registry that refuses artifact manifests; they are still written beside the binaries in dist/
	Referrers = Knob{Env: "MUSLRUST_CHEF_REFERRERS", Default: "true"}
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

// RustArgs are rust:cook's and rust:build's knobs as the target received
// them as flags: nil means "not given" (the environment, Cargo.toml
// metadata and defaults follow).
type RustArgs struct {
	Workspace, PlanDir, Bin, Platforms, Dist                *string
	Image, Tags, Output, Base                               *string
	Builder, Profile, Features, Strategy, Cache, MainBranch *string
	// Compare is rust:build's -compare (rust:cook leaves it nil).
	Compare *string
	// MuslrustImage and BuilderArgs are the kit's own builder's base
	// image and build arguments (no published Builder given).
	MuslrustImage, BuilderArgs *string
}

// RustSettings is the resolved configuration of one rust:cook or
// rust:build: flag > MUSLRUST_CHEF_* environment > Cargo.toml metadata
// ([package|workspace.metadata.muslrust-chef]) > defaults; the builder
// image's labels (libc, RUSTFLAGS) come after all of them, in the build.
type RustSettings struct {
	// Spec is what pkg/pipeline builds: pipeline.Config{Spec: s.Spec}.
	buildspec.Spec
	// Loaded is the workspace read once (chef.Load); the build plans it
	// again without reading a file.
	Loaded   *chef.Workspace
	Metadata Metadata
}

// The strategies a user may name.
const (
	strategyEmulate = "emulate"
	strategySplit   = "split"
	strategyCross   = "cross"
	strategyAuto    = "auto"
)

// Rust applies the precedence rules. It reads the workspace (once) and
// its Cargo.toml metadata but runs nothing.
func Rust(f RustArgs) (RustSettings, error) {
	s := RustSettings{Spec: buildspec.Spec{Workspace: Workspace.Value(f.Workspace)}}
	s.PlanDir = PlanDir.Value(f.PlanDir)
	if s.PlanDir == "" {
		s.PlanDir = filepath.Join(s.Workspace, "target", "muslrust-chef")
	}
	s.Dist = Dist.Value(f.Dist)

	ws, err := chef.Load(s.Workspace)
	if err != nil {
		return s, err
	}
	s.Loaded = ws
	// Every local package's name reaches cargo clean -p in the build:
	// checked here, before BuildKit is contacted.
	for _, p := range ws.Packages() {
		if err := cargo.CheckName("package", p.Name); err != nil {
			return s, fmt.Errorf("%s: %w", path.Join(p.Dir, "Cargo.toml"), err)
		}
	}
	s.Bin = Bin.Value(f.Bin)
	if s.Bin != "" {
		// Before the lookup, so that shell text is called what it is.
		if err := cargo.CheckName("binary", s.Bin); err != nil {
			return s, option.Usagef("%w", err)
		}
	}
	owner, err := chooseBin(ws, s.Bin)
	if err != nil {
		return s, err
	}
	s.Bin, s.Package, s.Manifest = owner.Name, owner.Package, owner.Manifest

	md, err := ReadMetadata(s.Workspace, s.Manifest)
	if err != nil {
		return s, err
	}
	s.Metadata = md
	if s.Platforms, err = platform.ParseList(Platforms.Or(f.Platforms, md.Platforms)); err != nil {
		return s, option.Usagef("%w", err)
	}
	s.Strategy, s.StrategyFrom = Strategy.Default, "the default"
	if v, ok := Strategy.Lookup(f.Strategy); ok && v != "" {
		s.Strategy, s.StrategyFrom = v, Strategy.Env
		if f.Strategy != nil {
			s.StrategyFrom = "-" + Strategy.Flag
		}
	} else if md.Strategy != "" {
		s.Strategy, s.StrategyFrom = md.Strategy, "strategy in ["+md.StrategyFrom+".metadata.muslrust-chef]"
	}
	s.Strategy = strings.ToLower(s.Strategy)
	switch s.Strategy {
	// split with several platforms spreads them over several BuildKit
	// nodes; the pipeline checks that there is one per platform.
	case strategyEmulate, strategyCross, strategyAuto, strategySplit:
	default:
		return s, option.Usagef("MUSLRUST_CHEF_STRATEGY=%q (from %s) is unknown: use cross (compile every platform on the build platform), emulate (all platforms in one build, QEMU for foreign ones), split (each platform on a BuildKit of its own architecture) or auto", s.Strategy, s.StrategyFrom)
	}
	s.Image = Image.Or(f.Image, md.Image)
	s.Tags = List(Tags.Value(f.Tags))
	s.Output = Output.Value(f.Output)
	s.Base = BaseImage.Or(f.Base, md.BaseImage)
	s.Builder = RustBuilder.Or(f.Builder, "")
	if s.BuilderArgs, err = builder.BuildArgs(BuilderArgs.Value(f.BuilderArgs), MuslrustImage.Value(f.MuslrustImage)); err != nil {
		return s, err
	}
	s.Profile = Profile.Or(f.Profile, md.Profile)
	s.Features = List(Features.Or(f.Features, md.Features))
	for _, b := range []struct {
		k   Knob
		dst *bool
	}{{NoDefaultFeatures, &s.NoDefaultFeatures}, {Locked, &s.Locked}, {Strip, &s.Strip}} {
		if *b.dst, err = b.k.Bool(nil); err != nil {
			return s, err
		}
	}
	if v, ok := Libc.Lookup(nil); ok {
		if s.Libc, err = platform.Libc(v); err != nil {
			return s, option.Usagef("%s: %w", Libc.Env, err)
		}
	}
	s.RustFlags, _ = RustFlags.Lookup(nil)
	if v, ok := RequireAllocator.Lookup(nil); ok {
		if s.RequireAllocator, err = elfcheck.ParseRequiredAllocator(v); err != nil {
			return s, option.Usagef("%s: %w", RequireAllocator.Env, err)
		}
	}
	if s.Compare = Compare.Value(f.Compare); s.Compare != "" {
		if _, err := name.ParseReference(s.Compare); err != nil {
			return s, option.Usagef("%s=%q is not an image reference: give the repo:tag or repo@sha256:... of an image this kit pushed", spelling(Compare, f.Compare), s.Compare)
		}
	}
	for _, b := range []struct {
		k   Knob
		dst *bool
	}{{SBOM, &s.NoSBOM}, {Referrers, &s.NoReferrers}} {
		on, err := b.k.Bool(nil)
		if err != nil {
			return s, err
		}
		*b.dst = !on
	}
	s.Cache = Cache.Value(f.Cache)
	s.MainBranch = MainBranch.Value(f.MainBranch)
	s.GitHubHeadRef, s.GitHubRef = GitHubHeadRef.Value(nil), GitHubRef.Value(nil)
	return s, nil
}

// spelling names k as the user set it: its flag when the flag was given,
// else its environment variable.
func spelling(k Knob, flag *string) string {
	if flag != nil && k.Flag != "" {
		return "-" + k.Flag
	}
	return k.Env
}

// chooseBin picks the binary: the one named, else the workspace's only one.
func chooseBin(ws *chef.Workspace, bin string) (chef.Bin, error) {
	if bin != "" {
		b, err := ws.Bin(bin)
		if err != nil {
			return chef.Bin{}, option.Usagef("%w", err)
		}
		return b, nil
	}
	bins := ws.Bins()
	switch len(bins) {
	case 0:
		return chef.Bin{}, option.Usagef("the workspace has no binary target: add a [[bin]] (or src/main.rs) to a member")
	case 1:
		return bins[0], nil
	}
	names := make([]string, len(bins))
	for i, b := range bins {
		names[i] = b.Name
	}
	return chef.Bin{}, option.Usagef("the workspace has %d binaries (%s): choose one with -%s or %s", len(bins), strings.Join(names, ", "), Bin.Flag, Bin.Env)
}
