package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
)

// requestIn is what the solve request is assembled from: the builder and
// strategy are settled (Solved), which request fills in with the context
// and cache it uses.
type requestIn struct {
	Config  *Config
	Planned planOut
	Solved  *Solved
	What    string
	Opts    *options
}

// request assembles the solve shared by cook and build: the composed
// Dockerfile, the cargo flags as build arguments, credentials, the build
// context, the builder's context when the kit builds its own, and the
// cache. cleanup removes what it created.
func request(ctx context.Context, in requestIn) (buildkit.Request, func(), error) {
	c, s, o, what := in.Config, in.Solved, in.Opts, in.What
	cleanup := func() {}
	p := in.Planned.Plan
	args, targets, err := buildArgs(c, s.Builder, s.Strategy, s.BuildPlatform, in.Planned.Locals, p.Recipe.WorkspaceDir)
	if err != nil {
		return buildkit.Request{}, cleanup, err
	}
	s.Targets = targets
	for _, line := range crossCommands(targets) {
		fmt.Fprintf(o.log, "%s: %s on %s in %s\n", what, line, s.BuildPlatform, s.Builder.Name())
	}
	if s.Strategy != StrategyCross {
		for _, pl := range c.Platforms {
			f := c.Flags(pl, s.Builder.Libc[pl], s.Builder.RustFlags[pl])
			fmt.Fprintf(o.log, "%s: %s: cargo %s (RUSTFLAGS=%q, strip %t) in %s\n", what, pl, strings.Join(f.BuildArgs(), " "), f.RustFlags, f.Strip, s.Builder.Name())
		}
	}
	secrets, ssh, err := credentials(o.credentials, p, what, o.log)
	if err != nil {
		return buildkit.Request{}, cleanup, err
	}
	if len(ssh) > 0 {
		args[app.ArgGitCLI] = "true"
	}
	layout, err := newContextLayout(c, p.Recipe.WorkspaceDir, p.OutsideDirs)
	if err != nil {
		return buildkit.Request{}, cleanup, err
	}
	if s.Context, err = buildkit.MeasureContext(ctx, layout.Dir, layout.Includes, layout.Excludes); err != nil {
		return buildkit.Request{}, cleanup, fmt.Errorf("cannot read the build context: %w", err)
	}
	logContext(o.log, what, layout, s.Context)
	ps := make([]string, len(c.Platforms))
	for i, pl := range c.Platforms {
		ps[i] = pl.String()
	}
	dockerfile, err := composeDockerfile(app.Dockerfile, muslrustchef.Dockerfile)
	if err != nil {
		return buildkit.Request{}, cleanup, err
	}
	if s.Template, err = cookTemplate(dockerfile, s.Strategy); err != nil {
		return buildkit.Request{}, cleanup, err
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
	if s.Builder.Embedded {
		for k, v := range c.BuilderArgs {
			args[k] = v
		}
		dir, rm, err := builder.EmbeddedContext(ctx, nil)
		if err != nil {
			return req, cleanup, err
		}
		cleanup = rm
		req.NamedContexts[muslrustchef.ContextName] = dir
	}
	var why string
	if s.Cache, s.CacheDir, why, err = cacheSpec(ctx, c, o.names); err != nil {
		return req, cleanup, err
	}
	useCache(&req, what, s.Cache)
	logCache(o.log, what, s.Cache, s.CacheDir, why)
	return req, cleanup, nil
}
