package pipeline

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
)

// crossSnippet renders the targets as the POSIX shell the cross stages
// evaluate: a tool check, the cargo runs, and the copy of each binary to
// OutDir/<os>_<arch>/.
//
// With cargo build, one cargo builds every triple (--target given once per
// triple): one dependency resolution, one job server for both triples'
// units, and the host's build scripts and proc-macros compiled once. Each
// triple's RUSTFLAGS go into cargo's per-triple CARGO_TARGET_<T>_RUSTFLAGS,
// with RUSTFLAGS and CARGO_ENCODED_RUSTFLAGS unset (either would apply to
// every triple and hide the per-triple ones); the toolchain variables carry
// the triple in their names already. The Dockerfile checks that cargo is
// 1.64 or later when muslrust_chef_multi_target is set.
//
// cargo-zigbuild sets up one zig target per invocation, so with zigbuild
// each triple still runs on its own, in a subshell so that one triple's
// environment cannot leak into the next.
//
// As in snippet, every value is a single-quoted word.
func crossSnippet(targets []Target, locals []string, workspaceInImage, outDir string) (string, error) {
	var check, build, clean, copyOut strings.Builder
	seen := map[string]bool{}
	if err := checkLocals(locals, workspaceInImage); err != nil {
		return "", err
	}
	if err := cargo.CheckText("output directory", outDir); err != nil {
		return "", err
	}
	if len(targets) == 0 {
		return "", fmt.Errorf("cross build without a target platform")
	}
	zigbuild := false
	var flags []cargo.Flags
	var toolchainEnv []string
	for _, t := range targets {
		f := t.Flags
		if err := f.Validate(); err != nil {
			return "", err
		}
		if err := t.Toolchain.Check(f.Triple); err != nil {
			return "", err
		}
		flags = append(flags, f)
		toolchainEnv = append(toolchainEnv, t.Toolchain.Env(f.Triple)...)
		tools := t.Toolchain.Tools(f.Triple)
		if t.Toolchain.Cargo == builder.CargoZigbuild {
			zigbuild = true
			tools = append(tools, [3]string{"cargo-zigbuild", "cargo zigbuild", builder.LabelCrossCargo}, [3]string{"zig", "cargo zigbuild", builder.LabelCrossCargo})
		}
		for _, tool := range tools {
			if seen[tool[0]+tool[1]] {
				continue
			}
			seen[tool[0]+tool[1]] = true
			msg := fmt.Sprintf("muslrust-chef: %s needs %s, which is not in the builder image (declared by its label %s): install it in the builder image or fix the label", tool[1], tool[0], tool[2])
			fmt.Fprintf(&check, "command -v %s >/dev/null 2>&1 || { echo %s >&2; exit 1; }; ", shellQuote(tool[0]), shellQuote(msg))
		}
		dir := outDir + "/" + t.Platform.DistDir()
		fmt.Fprintf(&copyOut, "mkdir -p %s && cp %s %s/ || exit 1; ", shellQuote(dir), shellQuote(f.BinPath(workspaceInImage, f.Bin)), shellQuote(dir))
	}
	multi := ""
	if zigbuild {
		for _, t := range targets {
			var env strings.Builder
			if err := writeExports(&env, append(t.Flags.Env(), t.Toolchain.Env(t.Flags.Triple)...)); err != nil {
				return "", err
			}
			// RUSTFLAGS is exported; an inherited CARGO_ENCODED_RUSTFLAGS
			// would win over it.
			fmt.Fprintf(&build, "( %sunset CARGO_ENCODED_RUSTFLAGS; cargo %s ) || exit 1; ", env.String(), shellWords(crossArgs(t)))
			if len(locals) > 0 {
				fmt.Fprintf(&clean, "( %sunset CARGO_ENCODED_RUSTFLAGS; cargo %s ) || exit 1; ", env.String(), shellWords(t.Flags.CleanArgs(locals)))
			}
		}
	} else {
		buildArgs, cleanArgs, env, err := cargo.MultiTarget(flags, locals)
		if err != nil {
			return "", err
		}
		var exports strings.Builder
		if err := writeExports(&exports, append(env, toolchainEnv...)); err != nil {
			return "", err
		}
		fmt.Fprintf(&build, "( %s%scargo %s ) || exit 1; ", exports.String(), unsetRustFlags, shellWords(buildArgs))
		if len(locals) > 0 {
			fmt.Fprintf(&clean, "( %s%scargo %s ) || exit 1; ", exports.String(), unsetRustFlags, shellWords(cleanArgs))
		}
		multi = "muslrust_chef_multi_target=true; "
	}
	orNoop := func(s string) string {
		if s == "" {
			return ":; "
		}
		return s
	}
	triples := make([]string, len(targets))
	for i, t := range targets {
		triples[i] = t.Flags.Triple
	}
	// A rust-toolchain file selects a toolchain the image may not have the
	// foreign standard libraries for: the cook stage adds them with rustup.
	return fmt.Sprintf("%smuslrust_chef_check_tools() { %s}; muslrust_chef_rustup_targets() { rustup target add %s; }; muslrust_chef_cargo_build() { %s}; muslrust_chef_cargo_clean() { %s}; muslrust_chef_copy_out() { %s}",
		multi, orNoop(check.String()), shellWords(triples), build.String(), orNoop(clean.String()), copyOut.String()), nil
}

// unsetRustFlags clears the two variables that would give every triple of
// a multi-target cargo the same flags.
const unsetRustFlags = "unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS; "

// snippet renders flags as the POSIX shell the Dockerfile evaluates in both
// stages: exports, the cargo build and clean commands, the binary's path.
// Every value is a single-quoted word (shellQuote); the only unquoted text
// is the kit's own: function and command names, option names and the
// environment variable names, which are checked to be identifiers.
func snippet(f cargo.Flags, locals []string, workspaceInImage string) (string, error) {
	if err := f.Validate(); err != nil {
		return "", err
	}
	if err := checkLocals(locals, workspaceInImage); err != nil {
		return "", err
	}
	var b strings.Builder
	if err := writeExports(&b, f.Env()); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "muslrust_chef_cargo_build() { cargo %s; }; ", shellWords(f.BuildArgs()))
	if len(locals) == 0 {
		b.WriteString("muslrust_chef_cargo_clean() { :; }; ")
	} else {
		fmt.Fprintf(&b, "muslrust_chef_cargo_clean() { cargo %s; }; ", shellWords(f.CleanArgs(locals)))
	}
	fmt.Fprintf(&b, "muslrust_chef_bin_path=%s", shellQuote(f.BinPath(workspaceInImage, f.Bin)))
	return b.String(), nil
}

// checkLocals refuses local package names (from the workspace's manifests)
// and a workspace path that could not be a cargo name or a path.
func checkLocals(locals []string, workspaceInImage string) error {
	for _, l := range locals {
		if err := cargo.CheckName("package", l); err != nil {
			return fmt.Errorf("workspace member: %w", err)
		}
	}
	return cargo.CheckText("workspace path", workspaceInImage)
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// writeExports writes "export NAME='value'; " for each NAME=value entry.
// A name is never quoted, so it must be an identifier.
func writeExports(b *strings.Builder, env []string) error {
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		if !envNameRE.MatchString(k) {
			return fmt.Errorf("environment variable name %q is not an identifier: this is a bug in muslrust-chef", k)
		}
		if err := cargo.CheckText(k, v); err != nil {
			return err
		}
		fmt.Fprintf(b, "export %s=%s; ", k, shellQuote(v))
	}
	return nil
}

func shellWords(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// shellQuote makes s one POSIX shell word with no expansion at all: inside
// single quotes every byte is literal except ', which is closed, escaped
// and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
