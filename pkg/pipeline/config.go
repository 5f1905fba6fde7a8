// Package pipeline is what `mage rust:cook`, `rust:build` and `rust:slim`
// do, one stage per file: plan the workspace on the host (plan.go), run the
// cook and build stages of the embedded images/app/Dockerfile in BuildKit
// for every platform and export dist/<os>_<arch>/<bin> (solve.go,
// export.go), verify the binaries (verify.go), build the slim image
// (slim.go) and publish it (publish.go).
//
// The configuration comes resolved (pkg/config does that for the mage
// targets: flag > environment > Cargo.toml metadata > defaults); the
// builder image's labels (libc, RUSTFLAGS) come last, here.
package pipeline

import (
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Config is the resolved configuration of one cook or build.
type Config struct {
	Workspace string // as given (relative paths stay relative)
	PlanDir   string
	Dist      string
	Bin       string
	// Package owns Bin; Manifest is its Cargo.toml relative to Workspace.
	Package, Manifest string
	Platforms         []platform.Platform
	// Strategy is emulate, split, cross or auto as configured; the solve
	// settles auto (Result.Strategy). StrategyFrom names where it came
	// from, for messages.
	Strategy, StrategyFrom string
	Image                  string
	Tags                   []string
	Output                 string
	Base                   string
	// Builder is a published builder image; empty builds the kit's own
	// from the embedded Dockerfile with BuilderArgs (builder.BuildArgs).
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
	// GitHubHeadRef and GitHubRef are GitHub Actions' branch refs (empty
	// elsewhere): the branch whose cache the build exports.
	GitHubHeadRef, GitHubRef string
}

// validate checks every configured value that reaches cargo's command line
// or the build's environment against Cargo's own grammar, before the
// builder image is read or BuildKit contacted: profile, package and binary
// names, features, the triples (from the platform table) and RUSTFLAGS.
func (c *Config) validate() error {
	if len(c.Platforms) == 0 {
		return option.Usagef("no platform to build: set %s (%s)", option.Env(option.Platforms), platform.Supported())
	}
	// CheckText names the value after the option: "<option> "…" holds …".
	if err := cargo.CheckText("", c.RustFlags); err != nil {
		return option.Usagef("%s%w", option.Env(option.RustFlags), err)
	}
	for _, p := range c.Platforms {
		if err := c.Flags(p, "", "").Validate(); err != nil {
			return option.Usagef("%w", err)
		}
	}
	return nil
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
