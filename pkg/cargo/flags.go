// Package cargo holds the one value that decides how cargo is invoked for a
// cook and for the real build, and the exact artifact paths that follow from
// it. Cook and build take their arguments from the same Flags so a mismatch
// that silently defeats the dependency cache cannot be written.
package cargo

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
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

// Validate reports flags that would make cook and build disagree or fail,
// and any value outside Cargo's own grammar: the flags end up in the shell
// text of a RUN step, so nothing is accepted that Cargo itself would not.
func (f Flags) Validate() error {
	if f.Triple == "" {
		return errors.New("cargo flags: target triple is empty; pass the platform's triple (e.g. x86_64-unknown-linux-musl)")
	}
	if err := CheckTriple(f.Triple); err != nil {
		return err
	}
	if err := CheckProfile(f.Profile); err != nil {
		return err
	}
	if f.Package != "" {
		if err := CheckName("package", f.Package); err != nil {
			return err
		}
	}
	if f.Bin != "" {
		if err := CheckName("binary", f.Bin); err != nil {
			return err
		}
	}
	for _, feat := range f.Features {
		if err := CheckFeature(feat); err != nil {
			return err
		}
	}
	if err := CheckText("RUSTFLAGS", f.RustFlags); err != nil {
		return err
	}
	return CheckText("target dir", f.TargetDir)
}

// nameRE is Cargo's grammar of profile, package and target names.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// featureNameRE is a feature's own name: Cargo allows letters, digits,
// _, - and + and . after the first character, which is a letter, digit or _.
var featureNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_+.-]*$`)

// CheckProfile accepts a cargo profile name; empty means cargo's default.
func CheckProfile(p string) error {
	if p == "" || nameRE.MatchString(p) {
		return nil
	}
	return fmt.Errorf("profile %q is not a valid cargo profile name: use letters, digits, - and _", p)
}

// CheckName accepts a package or binary name (kind says which, for the
// message).
func CheckName(kind, n string) error {
	if nameRE.MatchString(n) {
		return nil
	}
	return fmt.Errorf("%s %q is not a valid cargo %s name: use letters, digits, - and _", kind, n, kind)
}

// CheckFeature accepts one entry of --features: feature, package/feature
// or dep:package.
func CheckFeature(feat string) error {
	ok := false
	if dep, found := strings.CutPrefix(feat, "dep:"); found {
		ok = nameRE.MatchString(dep)
	} else if pkg, name, found := strings.Cut(feat, "/"); found {
		ok = nameRE.MatchString(pkg) && featureNameRE.MatchString(name)
	} else {
		ok = featureNameRE.MatchString(feat)
	}
	if ok {
		return nil
	}
	return fmt.Errorf("feature %q is not a valid cargo feature: use a name of letters, digits, _, -, + and ., or package/feature, or dep:package, and separate features with commas", feat)
}

// CheckTriple accepts only the triples of the platform table.
func CheckTriple(t string) error {
	for _, known := range platform.Triples() {
		if t == known {
			return nil
		}
	}
	return fmt.Errorf("target triple %q is not one this kit builds: use one of %s", t, strings.Join(platform.Triples(), ", "))
}

// CheckText accepts a free-form value (RUSTFLAGS, a linker command) that is
// passed to the build quoted: it must be UTF-8 (build arguments travel as
// protobuf strings) without control characters other than tab, which no
// such setting needs and which would garble the build log.
func CheckText(what, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s %q is not valid UTF-8: fix its encoding", what, v)
	}
	for i, r := range v {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return fmt.Errorf("%s %q holds a control character at byte %d: remove it", what, v, i)
		}
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
	return f.buildArgs(f.selection())
}

func (f Flags) buildArgs(selection []string) []string {
	args := append([]string{"build"}, selection...)
	if f.Package != "" {
		args = append(args, "--package", f.Package)
	}
	if f.Bin != "" {
		args = append(args, "--bin", f.Bin)
	}
	args = append(args, f.FeatureArgs()...)
	if f.Locked {
		args = append(args, "--locked")
	}
	return args
}

// FeatureArgs are the feature flags of the build, in cargo's own order.
func (f Flags) FeatureArgs() []string {
	var args []string
	if f.AllFeatures {
		args = append(args, "--all-features")
	}
	if f.NoDefaultFeatures {
		args = append(args, "--no-default-features")
	}
	if len(f.Features) > 0 {
		args = append(args, "--features", strings.Join(f.Features, ","))
	}
	return args
}

// FeatureDescription is FeatureArgs as one line for people and records
// ("default" when there are none).
func (f Flags) FeatureDescription() string {
	args := f.FeatureArgs()
	if len(args) == 0 {
		return "default"
	}
	return strings.Join(args, " ")
}

// CleanArgs returns the arguments of `cargo clean -p` for the given packages
// with the same profile, triple and target dir as the build.
func (f Flags) CleanArgs(packages []string) []string {
	return cleanArgs(packages, f.selection())
}

func cleanArgs(packages, selection []string) []string {
	args := []string{"clean"}
	for _, p := range packages {
		args = append(args, "-p", p)
	}
	return append(args, selection...)
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
