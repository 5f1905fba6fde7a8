// Package pipeline is what `mage rust:cook` and `mage rust:build` do: plan
// the workspace on the host, run the cook and build stages of the embedded
// images/app/Dockerfile in BuildKit for every platform, export
// dist/<os>_<arch>/<bin>, verify the binaries and hand them to pkg/slim.
//
// Configuration precedence is target flag > MUSLRUST_CHEF_* environment >
// Cargo.toml metadata ([package|workspace.metadata.muslrust-chef]) > the
// builder image's labels (libc, RUSTFLAGS) > defaults.
package pipeline

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Settings are the knobs as the target received them: nil means "not given
// as a flag" (the environment, Cargo.toml metadata and defaults follow).
type Settings struct {
	Workspace, PlanDir, Bin, Platforms, Dist                *string
	Image, Tags, Output, Base                               *string
	Builder, Profile, Features, Strategy, Cache, MainBranch *string
	// MuslrustImage and BuilderArgs are the kit's own builder's base
	// image and build arguments (no published Builder given).
	MuslrustImage, BuilderArgs *string
}

// Config is the resolved configuration of one cook or build.
type Config struct {
	Workspace string // as given (relative paths stay relative)
	PlanDir   string
	Dist      string
	Bin       string
	// Package owns Bin; Manifest is its Cargo.toml relative to Workspace.
	Package, Manifest string
	Platforms         []platform.Platform
	// Strategy is emulate, split, cross or auto as configured; prepare
	// settles auto (Result.Strategy). StrategyFrom names where it came
	// from, for messages.
	Strategy, StrategyFrom string
	Image                  string
	Tags                   []string
	Output                 string
	Base                   string
	// Builder is a published builder image; empty builds the kit's own
	// from the embedded Dockerfile with BuilderArgs.
	Builder           string
	BuilderArgs       map[string]string
	Profile           string
	Features          []string
	NoDefaultFeatures bool
	Locked            bool
	Strip             bool
	// Libc and RustFlags are empty when the builder image's labels decide.
	Libc, RustFlags string
	// RequireAllocator fails verify for a binary on another allocator;
	// empty only warns about a multi-threaded binary on musl's malloc.
	RequireAllocator elfcheck.Allocator
	Cache            string
	MainBranch       string
	Metadata         config.Metadata
}

// Resolve applies the precedence rules. It reads Cargo.toml files but runs
// nothing.
func Resolve(s Settings) (*Config, error) {
	c := &Config{Workspace: config.Workspace.Value(s.Workspace)}
	c.PlanDir = config.PlanDir.Value(s.PlanDir)
	if c.PlanDir == "" {
		c.PlanDir = filepath.Join(c.Workspace, "target", "muslrust-chef")
	}
	c.Dist = config.Dist.Value(s.Dist)

	bins, err := workspaceBins(c.Workspace)
	if err != nil {
		return nil, err
	}
	c.Bin = config.Bin.Value(s.Bin)
	if c.Bin != "" {
		// Before the lookup, so that shell text is called what it is.
		if err := cargo.CheckName("binary", c.Bin); err != nil {
			return nil, err
		}
	}
	owner, err := chooseBin(c.Bin, bins)
	if err != nil {
		return nil, err
	}
	c.Bin, c.Package, c.Manifest = owner.name, owner.pkg, owner.manifest

	md, err := config.ReadMetadata(c.Workspace, c.Manifest)
	if err != nil {
		return nil, err
	}
	c.Metadata = md
	if c.Platforms, err = platform.ParseList(config.Platforms.Or(s.Platforms, md.Platforms)); err != nil {
		return nil, err
	}
	c.Strategy, c.StrategyFrom = config.Strategy.Default, "the default"
	if v, ok := config.Strategy.Lookup(s.Strategy); ok && v != "" {
		c.Strategy, c.StrategyFrom = v, "MUSLRUST_CHEF_STRATEGY"
		if s.Strategy != nil {
			c.StrategyFrom = "-strategy"
		}
	} else if md.Strategy != "" {
		c.Strategy, c.StrategyFrom = md.Strategy, "strategy in ["+md.StrategyFrom+".metadata.muslrust-chef]"
	}
	c.Strategy = strings.ToLower(c.Strategy)
	switch c.Strategy {
	case StrategyEmulate, StrategyCross, StrategyAuto:
	case StrategySplit:
		if len(c.Platforms) != 1 {
			return nil, fmt.Errorf("MUSLRUST_CHEF_STRATEGY=split builds exactly one platform per run, got %s: set MUSLRUST_CHEF_PLATFORMS to this runner's platform and merge the digests with image:merge", platform.Join(c.Platforms))
		}
	default:
		return nil, fmt.Errorf("MUSLRUST_CHEF_STRATEGY=%q (from %s) is unknown: use cross (compile every platform on the build platform), emulate (all platforms in one build, QEMU for foreign ones), split (one platform per runner) or auto", c.Strategy, c.StrategyFrom)
	}
	c.Image = config.Image.Or(s.Image, md.Image)
	c.Tags = config.List(config.Tags.Value(s.Tags))
	c.Output = config.Output.Value(s.Output)
	c.Base = config.BaseImage.Or(s.Base, md.BaseImage)
	c.Builder = config.RustBuilder.Or(s.Builder, "")
	if c.BuilderArgs, err = builder.BuildArgs(config.BuilderArgs.Value(s.BuilderArgs), config.MuslrustImage.Value(s.MuslrustImage)); err != nil {
		return nil, err
	}
	c.Profile = config.Profile.Or(s.Profile, md.Profile)
	c.Features = config.List(config.Features.Or(s.Features, md.Features))
	for _, b := range []struct {
		k   config.Knob
		dst *bool
	}{{config.NoDefaultFeatures, &c.NoDefaultFeatures}, {config.Locked, &c.Locked}, {config.Strip, &c.Strip}} {
		if *b.dst, err = b.k.Bool(nil); err != nil {
			return nil, err
		}
	}
	if v, ok := config.Libc.Lookup(nil); ok {
		if c.Libc, err = platform.Libc(v); err != nil {
			return nil, fmt.Errorf("MUSLRUST_CHEF_LIBC: %v", err)
		}
	}
	c.RustFlags, _ = config.RustFlags.Lookup(nil)
	if v, ok := config.RequireAllocator.Lookup(nil); ok {
		if c.RequireAllocator, err = elfcheck.ParseRequiredAllocator(v); err != nil {
			return nil, fmt.Errorf("MUSLRUST_CHEF_REQUIRE_ALLOCATOR: %v", err)
		}
	}
	c.Cache = config.Cache.Value(s.Cache)
	c.MainBranch = config.MainBranch.Value(s.MainBranch)
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// validate checks every configured value that reaches cargo's command line
// or the build's environment against Cargo's own grammar, before the
// builder image is read or BuildKit contacted: profile, package and binary
// names, features, the triples (from the platform table) and RUSTFLAGS.
func (c *Config) validate() error {
	if len(c.Platforms) == 0 {
		return fmt.Errorf("no platform to build: set MUSLRUST_CHEF_PLATFORMS (%s)", platform.Supported())
	}
	if err := cargo.CheckText("MUSLRUST_CHEF_RUSTFLAGS", c.RustFlags); err != nil {
		return err
	}
	for _, p := range c.Platforms {
		if err := c.Flags(p, "", "").Validate(); err != nil {
			return err
		}
	}
	return nil
}

type binInfo struct{ name, pkg, manifest string }

// workspaceBins lists the binaries of the workspace's members.
func workspaceBins(ws string) ([]binInfo, error) {
	plan, err := chef.NewPlan(chef.Options{Workspace: ws})
	if err != nil {
		return nil, err
	}
	var out []binInfo
	for _, p := range plan.Packages {
		// Every local package's name reaches cargo clean -p in the build:
		// checked here, before BuildKit is contacted.
		if err := cargo.CheckName("package", p.Name); err != nil {
			return nil, fmt.Errorf("%s: %v", path.Join(p.Dir, "Cargo.toml"), err)
		}
		if !p.Member {
			continue
		}
		for _, t := range p.Targets {
			if t.Kind.Name == "Bin" {
				out = append(out, binInfo{name: t.Name, pkg: p.Name, manifest: path.Join(p.Dir, "Cargo.toml")})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func chooseBin(bin string, bins []binInfo) (binInfo, error) {
	names := make([]string, len(bins))
	for i, b := range bins {
		names[i] = b.name
	}
	if bin == "" {
		switch len(bins) {
		case 0:
			return binInfo{}, fmt.Errorf("the workspace has no binary target: add a [[bin]] (or src/main.rs) to a member")
		case 1:
			return bins[0], nil
		}
		return binInfo{}, fmt.Errorf("the workspace has %d binaries (%s): choose one with -bin or MUSLRUST_CHEF_BIN", len(bins), strings.Join(names, ", "))
	}
	var found []binInfo
	for _, b := range bins {
		if b.name == bin {
			found = append(found, b)
		}
	}
	switch len(found) {
	case 0:
		if len(names) == 0 {
			return binInfo{}, fmt.Errorf("bin %q not found: the workspace has no binaries", bin)
		}
		return binInfo{}, fmt.Errorf("bin %q not found; known bins: %s", bin, strings.Join(names, ", "))
	case 1:
		return found[0], nil
	}
	return binInfo{}, fmt.Errorf("bin %q is defined by both %s and %s; rename one", bin, found[0].pkg, found[1].pkg)
}

// Flags returns the one cargo.Flags value of a platform: cook and build
// both run exactly these. libc and rustFlags come from the builder image
// when not configured.
func (c *Config) Flags(p platform.Platform, libc, rustFlags string) cargo.Flags {
	if c.Libc != "" {
		libc = c.Libc
	}
	if c.RustFlags != "" {
		rustFlags = c.RustFlags
	}
	return cargo.Flags{
		Profile:           c.Profile,
		Triple:            p.Triple(libc),
		TargetDir:         "target",
		Features:          c.Features,
		NoDefaultFeatures: c.NoDefaultFeatures,
		Package:           c.Package,
		Bin:               c.Bin,
		Locked:            c.Locked,
		RustFlags:         rustFlags,
		Strip:             c.Strip,
	}
}
