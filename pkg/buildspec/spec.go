// Package buildspec is the settled description of one Rust build: what
// pkg/config makes of flags, MUSLRUST_CHEF_* variables, Cargo.toml
// metadata and defaults, and what pkg/pipeline is given. It is one struct
// that both embed, so a knob reaches the build through one assignment and
// the pipeline's tests build exactly the value a user's run builds.
package buildspec

import (
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// OptionCompare is the option behind Spec.Compare, as errors name it
// (pkg/config maps it to -compare / MUSLRUST_CHEF_COMPARE). It lives here,
// not in pkg/option, whose every change rebuilds the test stand-in images.
const OptionCompare option.Name = "compare"

// OptionReferrers is the option behind Spec.NoReferrers (pkg/config maps
// it to MUSLRUST_CHEF_REFERRERS), for errors that point to it.
const OptionReferrers option.Name = "referrers"

// Spec is one cook or build, resolved.
type Spec struct {
	Workspace string // as given (relative paths stay relative)
	PlanDir   string
	Dist      string
	Bin       string
	// Package owns Bin; Manifest is its Cargo.toml relative to Workspace.
	Package, Manifest string
	Platforms         []platform.Platform
	// Strategy is emulate, split, cross or auto as configured; the solve
	// settles auto. StrategyFrom names where it came from, for messages.
	Strategy, StrategyFrom string
	Image                  string
	// Compare is the image whose provenance "why did cook run" compares
	// with (repo:tag or repo@sha256:...); empty: the tag being replaced,
	// else the previous build's provenance in Dist.
	Compare string
	// NoReferrers keeps the records (SBOMs, provenance) out of the pushed
	// image (MUSLRUST_CHEF_REFERRERS=false): for registries that refuse
	// OCI artifact manifests. They are still written beside the binaries.
	// The zero value attaches them.
	NoReferrers bool
	Tags        []string
	Output      string
	Base        string
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
	// NoSBOM skips cargo metadata and cargo tree in the build step and the
	// SBOM documents (MUSLRUST_CHEF_SBOM=false, option OptionSBOM); the
	// provenance and the cook key are still written. The zero value keeps
	// the SBOM on.
	NoSBOM     bool
	MainBranch string
	// GitHubHeadRef and GitHubRef are GitHub Actions' branch refs (empty
	// elsewhere): the branch whose cache the build exports.
	GitHubHeadRef, GitHubRef string
}

// OptionSBOM is the option behind Spec.NoSBOM, as errors name it (pkg/config
// maps it to MUSLRUST_CHEF_SBOM). It lives here, not in pkg/option, whose
// every change rebuilds the test stand-in images.
const OptionSBOM option.Name = "sbom"
