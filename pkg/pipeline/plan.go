package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// prepare resolves the configuration, inspects the builder, connects to
// BuildKit, plans and assembles the solve request shared by cook and build.
// distHint ends the refusal of a dist directory the kit did not write.
const distHint = "set -dist / MUSLRUST_CHEF_DIST to a new or empty directory (default dist)"

func prepare(ctx context.Context, s Settings, rt *Runtime, what string) (*Result, buildkit.Request, func(), error) {
	noop := func() {}
	if rt.Log == nil {
		rt.Log = io.Discard
	}
	if rt.Stdout == nil {
		rt.Stdout = os.Stdout
	}
	r := &Result{Logs: map[string]string{}}
	c, err := Resolve(s)
	if err != nil {
		return r, buildkit.Request{}, noop, err
	}
	r.Config = c
	// A directory the kit would refuse to replace after the compile is
	// refused now, before the builder, BuildKit or the planner run.
	if dir, ok := strings.CutPrefix(strings.TrimSpace(c.Cache), buildcache.LocalPrefix); ok && strings.TrimSpace(dir) != "" {
		if err := atomicdir.Check(strings.TrimSpace(dir), buildkit.CacheDirHint); err != nil {
			return r, buildkit.Request{}, noop, fmt.Errorf("cache directory: %w", err)
		}
	}
	if what == "build" {
		if err := atomicdir.Check(c.Dist, distHint); err != nil {
			return r, buildkit.Request{}, noop, fmt.Errorf("local output: %w", err)
		}
		if out, err := publish.ParseOutput(c.Output); err == nil {
			if err := publish.CheckOutput(out); err != nil {
				return r, buildkit.Request{}, noop, err
			}
		}
	}
	if c.Builder == "" {
		r.Builder, err = builder.Embedded(c.BuilderArgs)
	} else {
		r.Builder, err = builder.Inspect(ctx, c.Builder, rt.BuilderOptions...)
	}
	if err != nil {
		return r, buildkit.Request{}, noop, err
	}
	// Emulate and split need every platform's image; fail before BuildKit
	// is even contacted, as before cross existed.
	if c.Strategy == StrategyEmulate || c.Strategy == StrategySplit {
		if err := r.Builder.Require(c.Platforms); err != nil {
			return r, buildkit.Request{}, noop, err
		}
	}
	done := noop
	if rt.BuildKit == nil {
		bk, err := buildkit.Connect(ctx, rt.ConnectOptions...)
		if err != nil {
			return r, buildkit.Request{}, noop, err
		}
		rt.BuildKit, done = bk, func() { bk.Close() }
	}
	host := rt.Host
	if host.Arch == "" {
		host, _ = platform.Host()
	}
	bp, bpKnown := buildPlatform(rt.BuildKit.Endpoint().Platforms, host)
	if r.Strategy, r.BuildPlatform, r.Why, err = chooseStrategy(c, r.Builder, bp, bpKnown); err != nil {
		return r, buildkit.Request{}, done, err
	}
	c.Strategy = r.Strategy
	fmt.Fprintf(rt.Log, "%s: strategy %s (%s)\n", what, r.Strategy, r.Why)
	if r.Plan, err = chef.PlanAndWrite(chef.Options{Workspace: c.Workspace, Bin: c.Bin}, c.PlanDir, rt.Log); err != nil {
		return r, buildkit.Request{}, done, err
	}
	locals, err := r.Plan.Recipe.LocalPackages()
	if err != nil {
		return r, buildkit.Request{}, done, err
	}
	if r.Strategy != StrategyCross {
		if err := r.Builder.Require(c.Platforms); err != nil {
			return r, buildkit.Request{}, done, err
		}
	}
	args, targets, err := buildArgs(c, r.Builder, r.Strategy, r.BuildPlatform, locals, r.Plan.Recipe.WorkspaceDir)
	if err != nil {
		return r, buildkit.Request{}, done, err
	}
	for _, t := range targets {
		fmt.Fprintf(rt.Log, "%s: %s: cargo %s (RUSTFLAGS=%q, strip %t%s) on %s in %s\n", what, t.Platform, strings.Join(crossArgs(t), " "),
			t.Flags.RustFlags, t.Flags.Strip, envSummary(t.Toolchain.Env(t.Flags.Triple)), r.BuildPlatform, r.Builder.Name())
	}
	if r.Strategy != StrategyCross {
		for _, p := range c.Platforms {
			f := c.Flags(p, r.Builder.Libc[p], r.Builder.RustFlags[p])
			fmt.Fprintf(rt.Log, "%s: %s: cargo %s (RUSTFLAGS=%q, strip %t) in %s\n", what, p, strings.Join(f.BuildArgs(), " "), f.RustFlags, f.Strip, r.Builder.Name())
		}
	}

	secrets, ssh, err := credentials(rt, r.Plan, what)
	if err != nil {
		return r, buildkit.Request{}, done, err
	}
	if len(ssh) > 0 {
		args[app.ArgGitCLI] = "true"
	}

	layout, err := newContextLayout(c, r.Plan.Recipe.WorkspaceDir, r.Plan.OutsideDirs)
	if err != nil {
		return r, buildkit.Request{}, done, err
	}
	if r.Context, err = buildkit.MeasureContext(ctx, layout.Dir, layout.Includes, layout.Excludes); err != nil {
		return r, buildkit.Request{}, done, fmt.Errorf("cannot read the build context: %w", err)
	}
	logContext(rt.Log, what, layout, r.Context)
	ps := make([]string, len(c.Platforms))
	for i, p := range c.Platforms {
		ps[i] = p.String()
	}
	dockerfile, err := composeDockerfile(app.Dockerfile, muslrustchef.Dockerfile)
	if err != nil {
		return r, buildkit.Request{}, done, err
	}
	req := buildkit.Request{
		ContextDir:        layout.Dir,
		ContextIncludes:   layout.Includes,
		ContextExcludes:   layout.Excludes,
		DockerfileContent: dockerfile,
		Platforms:         ps,
		BuildArgs:         args,
		NamedContexts:     map[string]string{app.ContextSkeleton: filepath.Join(c.PlanDir, chef.SkeletonDir)},
		Secrets:           secrets,
		SSH:               ssh,
	}
	if r.Builder.Embedded {
		for k, v := range c.BuilderArgs {
			args[k] = v
		}
		dir, cleanup, err := builder.EmbeddedContext(ctx, nil)
		if err != nil {
			return r, req, done, err
		}
		closeBuildKit := done
		done = func() { cleanup(); closeBuildKit() }
		req.NamedContexts[muslrustchef.ContextName] = dir
	}
	var why string
	if r.Cache, r.CacheDir, why, err = cacheSpec(ctx, c); err != nil {
		return r, req, done, err
	}
	req.CacheFrom, req.CacheTo, req.CacheDir = r.Cache.From, r.Cache.To, r.CacheDir
	switch {
	case r.CacheDir != "":
		fmt.Fprintf(rt.Log, "%s: local cache: import and export %s (mode=max)\n", what, r.CacheDir)
	case r.Cache.To != "":
		fmt.Fprintf(rt.Log, "%s: registry cache: import %s, export %s (mode=max)\n", what, strings.Join(r.Cache.From, ", "), r.Cache.To)
	case len(r.Cache.From) > 0:
		fmt.Fprintf(rt.Log, "%s: registry cache: import %s\n", what, strings.Join(r.Cache.From, ", "))
	default:
		fmt.Fprintf(rt.Log, "%s: no remote cache (%s): nothing is imported or exported, only this BuildKit's own cache is used\n", what, why)
	}
	return r, req, done, nil
}
