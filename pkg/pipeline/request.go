package pipeline

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/muslrust-chef/muslrust-chef/images/app"
	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// buildArgs turns the configuration and the builder's declarations into the
// embedded Dockerfile's build arguments: the pinned builder, the
// workspace's place under /src, and the cargo flags as shell snippets
// (snippet, crossSnippet) in which every value is single-quoted. The
// Dockerfile uses the other arguments only as quoted environment
// references. The cross targets are returned for the build log.
func buildArgs(c *Config, b *builder.Builder, strategy string, bp platform.Platform, locals []string, workspaceDir string) (map[string]string, []Target, error) {
	wsInImage := path.Join("/src", workspaceDir)
	args := builder.Args(b)
	args[app.ArgWorkspaceDir] = "."
	if workspaceDir != "" {
		args[app.ArgWorkspaceDir] = workspaceDir
	}
	if strategy == StrategyCross {
		// One snippet for all triples, independent of the target platform,
		// so BuildKit solves the cross stages once for every platform.
		targets := c.CrossTargets(b, bp)
		sn, err := crossSnippet(targets, locals, wsInImage, app.OutDir)
		if err != nil {
			return nil, nil, err
		}
		args[app.ArgCross] = sn
		args[app.ArgCrossFrom] = bp.String()
		return args, targets, nil
	}
	// Flags for every platform the builder has (not only the requested
	// ones): build args are part of the cook step's cache key, and this way
	// a split build of one platform shares it with an emulate build.
	for p := range b.Libc {
		sn, err := snippet(c.Flags(p, b.Libc[p], b.RustFlags[p]), locals, wsInImage)
		if err != nil {
			return nil, nil, err
		}
		args[app.ArgFlagsPrefix+p.Arch] = sn
	}
	return args, nil, nil
}

// crossArgs are a cross target's cargo arguments as the snippet runs them.
func crossArgs(t Target) []string {
	args := t.Flags.BuildArgs()
	if t.Toolchain.Cargo == builder.CargoZigbuild {
		args[0] = builder.CargoZigbuild
	}
	return args
}

func envSummary(env []string) string {
	if len(env) == 0 {
		return ""
	}
	return ", " + strings.Join(env, " ")
}

// Target is the ONE value per platform that decides how cook and build
// invoke cargo: the cargo flags (profile, features, --target triple,
// RUSTFLAGS, strip) and, when cross-compiling, the triple's toolchain.
// Both stages evaluate the same rendering of it.
type Target struct {
	Platform  platform.Platform
	Flags     cargo.Flags
	Toolchain builder.Toolchain
}

// CrossTargets returns the targets of a cross build on the builder image
// of platform from.
func (c *Config) CrossTargets(b *builder.Builder, from platform.Platform) []Target {
	decl := b.Cross[from]
	var out []Target
	for _, p := range c.Platforms {
		f := c.Flags(p, b.Libc[from], b.RustFlags[from])
		tc := decl.Triples[f.Triple]
		tc.Cargo = decl.Cargo
		if tc.RustFlags != "" && c.RustFlags == "" {
			f.RustFlags = tc.RustFlags
		}
		out = append(out, Target{Platform: p, Flags: f, Toolchain: tc})
	}
	return out
}

// crossSnippet renders the targets as the POSIX shell the cross stages
// evaluate: a tool check, then per triple (in a subshell, so that one
// triple's environment cannot leak into the next) the exports and cargo
// runs, and the copy of each binary to OutDir/<os>_<arch>/.
//
// The triples are compiled one after the other in one RUN rather than by
// one cargo with several --target flags: RUSTFLAGS (static glibc, a
// per-triple override) is a single environment variable, and sequential
// runs share the host build-script and proc-macro artifacts anyway.
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
	for _, t := range targets {
		f := t.Flags
		if err := f.Validate(); err != nil {
			return "", err
		}
		if err := t.Toolchain.Check(f.Triple); err != nil {
			return "", err
		}
		var env strings.Builder
		if err := writeExports(&env, append(f.Env(), t.Toolchain.Env(f.Triple)...)); err != nil {
			return "", err
		}
		tools := t.Toolchain.Tools(f.Triple)
		args := f.BuildArgs()
		if t.Toolchain.Cargo == builder.CargoZigbuild {
			args[0] = builder.CargoZigbuild
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
		fmt.Fprintf(&build, "( %scargo %s ) || exit 1; ", env.String(), shellWords(args))
		if len(locals) > 0 {
			fmt.Fprintf(&clean, "( %scargo %s ) || exit 1; ", env.String(), shellWords(f.CleanArgs(locals)))
		}
		dir := outDir + "/" + t.Platform.DistDir()
		fmt.Fprintf(&copyOut, "mkdir -p %s && cp %s %s/ || exit 1; ", shellQuote(dir), shellQuote(f.BinPath(workspaceInImage, f.Bin)), shellQuote(dir))
	}
	if len(targets) == 0 {
		return "", fmt.Errorf("cross build without a target platform")
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
	return fmt.Sprintf("muslrust_chef_check_tools() { %s}; muslrust_chef_rustup_targets() { rustup target add %s; }; muslrust_chef_cargo_build() { %s}; muslrust_chef_cargo_clean() { %s}; muslrust_chef_copy_out() { %s}",
		orNoop(check.String()), shellWords(triples), build.String(), orNoop(clean.String()), copyOut.String()), nil
}

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
			return fmt.Errorf("workspace member: %v", err)
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

// composeDockerfile puts the builder Dockerfile's stage in front of the app
// template's stages, twice: as StageName (each target platform, for emulate
// and split) and as builder.NativeStageName (the build platform, for cross). BuildKit
// builds only the stages the target reaches, so a build with a published
// builder image, which the template's FROM lines name instead, builds
// neither.
func composeDockerfile(appDockerfile, builderDockerfile []byte) ([]byte, error) {
	appHead, appRest, appFrom, err := splitAtFirstFrom(appDockerfile)
	if err != nil {
		return nil, fmt.Errorf("the app Dockerfile template: %w", err)
	}
	bHead, bBody, from, err := splitAtFirstFrom(builderDockerfile)
	if err != nil {
		return nil, fmt.Errorf("the embedded builder Dockerfile: %w", err)
	}
	f := strings.Fields(from)
	if len(f) < 2 || !strings.EqualFold(f[0], "FROM") || strings.HasPrefix(f[1], "--") {
		return nil, fmt.Errorf("the embedded builder Dockerfile's first instruction is %q, expected FROM <image> [AS %s]", from, muslrustchef.StageName)
	}
	stage := func(extra, name string) string {
		return "FROM " + extra + f[1] + " AS " + name + "\n"
	}
	var b bytes.Buffer
	b.Write(appHead)
	b.Write(bHead)
	b.WriteString("\n# ---- the kit's builder, images/muslrust-chef/Dockerfile, for the target platform\n")
	b.WriteString(stage("", muslrustchef.StageName))
	b.Write(bBody)
	b.WriteString("\n# ---- the same builder for BuildKit's build platform (the cross stages)\n")
	b.WriteString(stage("--platform=$BUILDPLATFORM ", builder.NativeStageName))
	b.Write(bBody)
	b.WriteString("\n# ---- the app template, images/app/Dockerfile\n")
	b.WriteString(appFrom + "\n")
	b.Write(appRest)
	return b.Bytes(), nil
}

// splitAtFirstFrom returns the text before the first FROM instruction, the
// text after it, and the FROM instruction itself (on one line).
func splitAtFirstFrom(dockerfile []byte) (head, body []byte, from string, err error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, nil, "", err
	}
	for _, n := range res.AST.Children {
		if !strings.EqualFold(n.Value, "from") {
			continue
		}
		lines := bytes.SplitAfter(dockerfile, []byte("\n"))
		if n.StartLine < 1 || n.EndLine > len(lines) {
			return nil, nil, "", fmt.Errorf("FROM at lines %d-%d is outside the file", n.StartLine, n.EndLine)
		}
		head = bytes.Join(lines[:n.StartLine-1], nil)
		body = bytes.Join(lines[n.EndLine:], nil)
		return head, body, n.Original, nil
	}
	return nil, nil, "", fmt.Errorf("no FROM instruction")
}
