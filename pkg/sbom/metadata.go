package sbom

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
)

// MetadataArgs returns the arguments of the `cargo metadata` run (without
// "cargo") that matches a build with the given flags: the same triple as
// --filter-platform and the same feature flags. Features without a
// package prefix are qualified with f.Package, because cargo metadata has
// no -p and, in a virtual workspace, refuses bare features.
func MetadataArgs(f cargo.Flags) ([]string, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	args := []string{"metadata", "--format-version", "1", "--filter-platform", f.Triple}
	args = append(args, featureArgs(f, true)...)
	if f.Locked {
		args = append(args, "--locked")
	}
	return args, nil
}

// TreeArgs returns the arguments of the `cargo tree` run (without "cargo")
// whose output WithCargoTree takes: the normal dependencies of the build's
// package for its triple and features, one "name vversion" a line. Unlike
// cargo metadata, cargo tree resolves features for the selected package
// alone and without dev-dependencies, as cargo build does, so it corrects
// metadata's workspace-wide feature unification. f.Package is required:
// without -p cargo tree would list every default member's dependencies.
func TreeArgs(f cargo.Flags) ([]string, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	if f.Package == "" {
		return nil, errors.New("sbom: cargo tree needs the binary's package: set the package (-p) of the build")
	}
	args := []string{"tree", "-e", "normal", "--target", f.Triple, "-p", f.Package, "--prefix", "none", "--format", "{p}"}
	args = append(args, featureArgs(f, false)...)
	if f.Locked {
		args = append(args, "--locked")
	}
	return args, nil
}

// featureArgs are the feature flags of f; qualify prefixes bare features
// with the package for cargo metadata, which has no -p.
func featureArgs(f cargo.Flags, qualify bool) []string {
	if qualify && f.Package != "" {
		feats := make([]string, len(f.Features))
		for i, feat := range f.Features {
			if !strings.Contains(feat, "/") && !strings.HasPrefix(feat, "dep:") {
				feat = f.Package + "/" + feat
			}
			feats[i] = feat
		}
		f.Features = feats
	}
	return f.FeatureArgs()
}

// Metadata runs `cargo metadata` (MetadataArgs) in dir with the given cargo
// binary and extra environment (CARGO_HOME, offline source replacement) and
// returns its stdout. env is cargo's whole environment; nil gives it this
// process's, as os/exec does. It is for a host that has the workspace's crates;
// inside a builder run MetadataArgs' command and pass its output to
// Resolve.
func Metadata(ctx context.Context, cargoBin, dir string, env []string, f cargo.Flags) ([]byte, error) {
	args, err := MetadataArgs(f)
	if err != nil {
		return nil, err
	}
	return run(ctx, cargoBin, dir, env, args)
}

// Tree runs `cargo tree` (TreeArgs) like Metadata runs cargo metadata and
// returns its stdout, for WithCargoTree.
func Tree(ctx context.Context, cargoBin, dir string, env []string, f cargo.Flags) ([]byte, error) {
	args, err := TreeArgs(f)
	if err != nil {
		return nil, err
	}
	return run(ctx, cargoBin, dir, env, args)
}

func run(ctx context.Context, cargoBin, dir string, env, args []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, cargoBin, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := firstError(stderr.String())
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("sbom: cargo %s in %s failed: %s: %w", strings.Join(args, " "), dir, msg, err)
		}
		return nil, fmt.Errorf("sbom: running cargo %s in %s: %w", args[0], dir, err)
	}
	return out, nil
}

// firstError picks cargo's "error: ..." line out of its stderr, so the
// failure stays one line; the last line stands in when there is none.
func firstError(stderr string) string {
	last := ""
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "error:") {
			return l
		}
		if l != "" {
			last = l
		}
	}
	return last
}
