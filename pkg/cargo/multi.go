package cargo

import (
	"errors"
	"fmt"
	"strings"
)

// MultiTarget is one cargo invocation for several triples (cargo 1.64 and
// later take --target more than once): the build arguments, the clean
// arguments for packages, and the environment. RUSTFLAGS is one variable
// for every unit, so each triple's flags go into its own
// CARGO_TARGET_<TRIPLE>_RUSTFLAGS; the caller must unset RUSTFLAGS and
// CARGO_ENCODED_RUSTFLAGS, which would override them for all triples.
// The flags must agree in everything but Triple and RustFlags: one cargo
// has one profile, one feature set, one target dir.
func MultiTarget(fs []Flags, packages []string) (build, clean, env []string, err error) {
	if len(fs) == 0 {
		return nil, nil, nil, errors.New("cargo flags: no target triple")
	}
	first := fs[0]
	seen := map[string]bool{}
	for _, f := range fs {
		if err := f.Validate(); err != nil {
			return nil, nil, nil, err
		}
		if seen[f.Triple] {
			return nil, nil, nil, fmt.Errorf("cargo flags: target triple %s given twice", f.Triple)
		}
		seen[f.Triple] = true
		same := f
		same.Triple, same.RustFlags = first.Triple, first.RustFlags
		if !sameFlags(same, first) {
			return nil, nil, nil, fmt.Errorf("cargo flags of %s and %s differ in more than the triple and RUSTFLAGS: one cargo cannot build them together; this is a bug in muslrust-chef", first.Triple, f.Triple)
		}
	}
	build = first.buildArgs(multiSelection(fs))
	clean = cleanArgs(packages, multiSelection(fs))
	for _, f := range fs {
		env = append(env, TargetRustFlagsEnv(f.Triple)+"="+f.RustFlags)
	}
	if first.Strip {
		env = append(env, StripEnv(first.ProfileName())+"=symbols")
	}
	return build, clean, env, nil
}

// multiSelection is selection with every triple's --target.
func multiSelection(fs []Flags) []string {
	args := []string{"--profile", fs[0].ProfileName()}
	for _, f := range fs {
		args = append(args, "--target", f.Triple)
	}
	if fs[0].TargetDir != "" {
		args = append(args, "--target-dir", fs[0].TargetDir)
	}
	return args
}

func sameFlags(a, b Flags) bool {
	return a.Profile == b.Profile && a.Triple == b.Triple && a.TargetDir == b.TargetDir &&
		strings.Join(a.Features, ",") == strings.Join(b.Features, ",") && len(a.Features) == len(b.Features) &&
		a.AllFeatures == b.AllFeatures && a.NoDefaultFeatures == b.NoDefaultFeatures && a.Package == b.Package &&
		a.Bin == b.Bin && a.Locked == b.Locked && a.RustFlags == b.RustFlags && a.Strip == b.Strip
}

// TargetRustFlagsEnv is cargo's per-triple rustflags variable:
// CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS.
func TargetRustFlagsEnv(triple string) string {
	return "CARGO_TARGET_" + strings.ToUpper(strings.ReplaceAll(triple, "-", "_")) + "_RUSTFLAGS"
}
