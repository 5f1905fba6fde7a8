// Package pipeline is what `mage rust:cook`, `rust:build` and `rust:slim`
// do, one stage per file: plan the workspace on the host (plan.go), run the
// cook and build stages of the embedded images/app/Dockerfile in BuildKit
// for every platform and export dist/<os>_<arch>/<bin> (solve.go,
// export.go), verify the binaries (verify.go), build the slim image
// (slim.go), write its SBOMs and provenance from what the build step
// recorded (records.go) and publish it with them (publish.go).
//
// The configuration comes resolved (pkg/config does that for the mage
// targets: flag > environment > Cargo.toml metadata > defaults); the
// builder image's labels (libc, RUSTFLAGS) come last, here.
package pipeline

import (
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Config is the resolved configuration of one cook or build
// (buildspec.Spec, which pkg/config fills); the methods below derive
// cargo's flags and the cross targets from it.
type Config struct {
	buildspec.Spec
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
