package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// buildArgs turns the configuration and the builder's declarations into the
// embedded Dockerfile's build arguments: the pinned builder, the
// workspace's place under /src, and the cargo flags as shell snippets
// (snippet, crossSnippet) in which every value is single-quoted, and the
// build stages' records snippets (recordsSnippet, crossRecordsSnippet). The
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
		if args[app.ArgCrossRecords], err = crossRecordsSnippet(targets, c.NoSBOM, app.OutDir); err != nil {
			return nil, nil, err
		}
		args[app.ArgCrossFrom] = bp.String()
		if dir := b.ZigCache[bp]; dir != "" {
			// One cache per builder image: a new builder's pre-warmed
			// cache seeds a new mount instead of never being read.
			id := sha256.Sum256([]byte(b.Name()))
			args[app.ArgZigSeed] = app.StageCrossBuilder
			args[app.ArgZigCache] = dir
			args[app.ArgZigCacheSource] = dir
			args[app.ArgZigCacheID] = hex.EncodeToString(id[:8])
		}
		return args, targets, nil
	}
	// Flags for every platform the builder has (not only the requested
	// ones): build args are part of the cook step's cache key, and this way
	// a split build of one platform shares it with an emulate build.
	for p := range b.Libc {
		f := c.Flags(p, b.Libc[p], b.RustFlags[p])
		sn, err := snippet(f, locals, wsInImage)
		if err != nil {
			return nil, nil, err
		}
		args[app.ArgFlagsPrefix+p.Arch] = sn
		// The same flags: the records cannot disagree with the build.
		if args[app.ArgRecordsPrefix+p.Arch], err = recordsSnippet(f, c.NoSBOM, app.OutDir+"/"+app.RecordsDir); err != nil {
			return nil, nil, err
		}
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

// crossCommands are the cargo invocations crossSnippet runs, as the log
// shows them: one for every triple at once, or one per triple with
// cargo-zigbuild (it sets up one zig target per invocation).
func crossCommands(targets []Target) []string {
	if len(targets) == 0 {
		return nil
	}
	var lines []string
	flags := make([]cargo.Flags, len(targets))
	var toolchainEnv []string
	zigbuild := false
	for i, t := range targets {
		flags[i] = t.Flags
		toolchainEnv = append(toolchainEnv, t.Toolchain.Env(t.Flags.Triple)...)
		zigbuild = zigbuild || t.Toolchain.Cargo == builder.CargoZigbuild
		lines = append(lines, fmt.Sprintf("%s: cargo %s (RUSTFLAGS=%q, strip %t%s)", t.Platform, strings.Join(crossArgs(t), " "),
			t.Flags.RustFlags, t.Flags.Strip, envSummary(t.Toolchain.Env(t.Flags.Triple))))
	}
	if zigbuild {
		return lines
	}
	// crossSnippet has already accepted these flags; were they refused
	// here, the per-triple lines still say what each platform gets.
	build, _, env, err := cargo.MultiTarget(flags, nil)
	if err != nil {
		return lines
	}
	ps := make([]platform.Platform, len(targets))
	for i, t := range targets {
		ps[i] = t.Platform
	}
	return []string{fmt.Sprintf("%s: cargo %s (%s%s)", platform.Join(ps), strings.Join(build, " "),
		strings.Join(env, " "), envSummary(toolchainEnv))}
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
