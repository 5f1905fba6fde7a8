// Package cargo holds the one value that decides how cargo is invoked for a
// cook and for the real build, and the exact artifact paths that follow from
// it. Cook and build take their arguments from the same Flags so a mismatch
// that silently defeats the dependency cache cannot be written.
package cargo

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Flags are the cargo settings shared by cook and build.
type Flags struct {
	// Profile is a cargo profile name: "dev", "release" or a custom one.
	Profile string
	// Triple is the --target triple; always passed so the artifact layout
	// (target/<triple>/...) does not depend on the host.
	Triple string
	// TargetDir is --target-dir; empty means cargo's default (target/).
	TargetDir string
	Features  []string
	// AllFeatures and NoDefaultFeatures change feature unification, so they
	// must be identical for cook and build.
	AllFeatures       bool
	NoDefaultFeatures bool
	// Package selects one package (-p); needed when default-members would
	// not include the binary's package.
	Package string
	// Bin narrows the build to one binary (cargo build --bin).
	Bin string
	// Locked passes --locked: the lockfile must already be complete.
	Locked bool
	// RustFlags is exported as RUSTFLAGS; any difference between cook and
	// build recompiles every dependency.
	RustFlags string
	// Strip exports CARGO_PROFILE_<PROFILE>_STRIP=symbols (cargo's profile
	// strip setting); false leaves the profile as Cargo.toml says.
	Strip bool
}

// Validate reports flags that would make cook and build disagree or fail.
func (f Flags) Validate() error {
	if f.Triple == "" {
		return errors.New("cargo flags: target triple is empty; pass the platform's triple (e.g. x86_64-unknown-linux-musl)")
	}
	if strings.ContainsAny(f.Profile, " /\\") {
		return fmt.Errorf("cargo flags: profile %q is not a valid profile name", f.Profile)
	}
	return nil
}

// ProfileName returns the effective profile, defaulting to cargo's "dev".
func (f Flags) ProfileName() string {
	if f.Profile == "" {
		return "dev"
	}
	return f.Profile
}

// BuildArgs returns the arguments of `cargo build` (without "cargo").
func (f Flags) BuildArgs() []string {
	args := []string{"build"}
	args = append(args, f.selection()...)
	if f.Package != "" {
		args = append(args, "--package", f.Package)
	}
	if f.Bin != "" {
		args = append(args, "--bin", f.Bin)
	}
	if f.AllFeatures {
		args = append(args, "--all-features")
	}
	if f.NoDefaultFeatures {
		args = append(args, "--no-default-features")
	}
	if len(f.Features) > 0 {
		args = append(args, "--features", strings.Join(f.Features, ","))
	}
	if f.Locked {
		args = append(args, "--locked")
	}
	return args
}

// CleanArgs returns the arguments of `cargo clean -p` for the given packages
// with the same profile, triple and target dir as the build.
func (f Flags) CleanArgs(packages []string) []string {
	args := []string{"clean"}
	for _, p := range packages {
		args = append(args, "-p", p)
	}
	return append(args, f.selection()...)
}

func (f Flags) selection() []string {
	args := []string{"--profile", f.ProfileName(), "--target", f.Triple}
	if f.TargetDir != "" {
		args = append(args, "--target-dir", f.TargetDir)
	}
	return args
}

// Env returns the environment entries the flags need (RUSTFLAGS). An empty
// RustFlags still exports RUSTFLAGS= so an inherited value cannot leak into
// only one of cook and build.
func (f Flags) Env() []string {
	env := []string{"RUSTFLAGS=" + f.RustFlags}
	if f.Strip {
		env = append(env, StripEnv(f.ProfileName())+"=symbols")
	}
	return env
}

// StripEnv is the environment variable of a profile's strip setting:
// CARGO_PROFILE_RELEASE_STRIP, CARGO_PROFILE_MY_PROFILE_STRIP.
func StripEnv(profile string) string {
	return "CARGO_PROFILE_" + strings.ToUpper(strings.ReplaceAll(profile, "-", "_")) + "_STRIP"
}

// ProfileDir maps a profile to its directory under target/<triple>/.
func ProfileDir(profile string) string {
	switch profile {
	case "", "dev", "test":
		return "debug"
	case "release", "bench":
		return "release"
	default:
		return profile
	}
}

// BinPath is the exact path of a built binary: <target-dir>/<triple>/<profile-dir>/<bin>.
// targetDir defaults to <workspace>/target.
func (f Flags) BinPath(workspace, bin string) string {
	dir := f.TargetDir
	if dir == "" {
		dir = filepath.Join(workspace, "target")
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(workspace, dir)
	}
	return filepath.Join(dir, f.Triple, ProfileDir(f.ProfileName()), bin)
}
