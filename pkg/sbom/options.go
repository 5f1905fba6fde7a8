package sbom

import (
	"errors"
	"fmt"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
)

type options struct {
	pkg, bin, triple, features, revision string
	buildTools                           bool
	tree                                 []byte
}

// Option configures Resolve.
type Option func(*options)

// WithPackage names the workspace package that holds the binary; needed
// when the workspace has more than one member.
func WithPackage(name string) Option { return func(o *options) { o.pkg = name } }

// WithBinary names the binary target; it must be a bin target of the
// package. Default: the package's only bin target.
func WithBinary(name string) Option { return func(o *options) { o.bin = name } }

// WithTriple records the target triple metadata was filtered for. Resolve
// cannot check it (metadata does not record --filter-platform), so pass
// the one given to MetadataArgs.
func WithTriple(triple string) Option { return func(o *options) { o.triple = triple } }

// WithFeatures records the feature flags of the build in the documents
// (e.g. "--features tls --no-default-features"); informative only.
func WithFeatures(desc string) Option { return func(o *options) { o.features = desc } }

// WithSourceRevision sets the revision (e.g. a git commit) of the local
// source tree; path crates carry it as their Source.Commit.
func WithSourceRevision(rev string) Option { return func(o *options) { o.revision = rev } }

// WithBuildTools also lists build-time-only crates (build-dependencies,
// proc-macros and what they depend on), marked as build tools.
func WithBuildTools(on bool) Option { return func(o *options) { o.buildTools = on } }

// FromFlags are the options that follow from the build's cargo flags:
// its package, binary, triple and feature flags. Pass the same Flags as
// to MetadataArgs.
func FromFlags(f cargo.Flags) []Option {
	return []Option{WithPackage(f.Package), WithBinary(f.Bin), WithTriple(f.Triple), WithFeatures(f.FeatureDescription())}
}

// WithCargoTree restricts the linked crates to those listed in the output
// of the command TreeArgs gives (run with the same flags as cargo
// metadata). cargo metadata resolves features for every workspace member
// and for dev-dependencies at once, so alone it may list an optional crate
// that only a sibling member or a dev-dependency enables; cargo tree
// resolves as the build does. Use it whenever the tree can be run.
func WithCargoTree(out []byte) Option { return func(o *options) { o.tree = out } }

// parseTree reads `cargo tree --prefix none --format {p}` output: the
// package itself, then "name vversion[ (source)][ (*)]" per dependency.
func parseTree(out []byte) (root string, pkgs map[string]bool, err error) {
	pkgs = map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[1], "v") {
			return "", nil, fmt.Errorf("sbom: cargo tree output line %q is not \"name vversion\": pass the stdout of the command TreeArgs gives", line)
		}
		if root == "" {
			root = f[0]
		}
		pkgs[f[0]+"\x00"+strings.TrimPrefix(f[1], "v")] = true
	}
	if root == "" {
		return "", nil, errors.New("sbom: cargo tree output is empty: pass the stdout of the command TreeArgs gives")
	}
	return root, pkgs, nil
}
