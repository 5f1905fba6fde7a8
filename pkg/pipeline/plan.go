package pipeline

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// distFix ends the refusal of a dist directory the kit did not write.
func distFix() error {
	return option.Errorf("set %s / %s to a new or empty directory (default dist)", option.Flag(option.Dist), option.Env(option.Dist))
}

// planIn is what the plan stage needs.
type planIn struct {
	Config *Config
	// What is the log prefix, "cook" or "build"; a build also checks
	// where its binaries and image go.
	What string
	// Workspace is the workspace as already read; nil reads
	// Config.Workspace.
	Workspace *chef.Workspace
	// Host reads the runtime base (build only).
	Host     platform.Platform
	Registry []publish.RegistryOption
	Log      io.Writer
}

// planOut is the recipe and, for a build, where the image goes.
type planOut struct {
	Plan *chef.Plan
	// Locals are the workspace's own packages (cargo clean -p).
	Locals []string
	// Output and Platforms are what publish writes: Platforms are the
	// configured ones, or the one a tar or docker output holds.
	Output    publish.Output
	Platforms []platform.Platform
	// Base is the runtime base, read for Platforms (slim builds on it
	// without reading it again).
	Base publish.Base
}

// plan checks everything that can fail before BuildKit is contacted (the
// configuration, the directories the run writes, the output and its
// runtime base) and writes the recipe and skeleton the cook stage builds.
func plan(ctx context.Context, in planIn) (planOut, error) {
	c := in.Config
	if err := c.validate(); err != nil {
		return planOut{}, err
	}
	// A directory the kit would refuse to replace after the compile is
	// refused now, before the builder, BuildKit or the planner run.
	if dir, ok := strings.CutPrefix(strings.TrimSpace(c.Cache), buildcache.LocalPrefix); ok && strings.TrimSpace(dir) != "" {
		if err := atomicdir.CheckFix(strings.TrimSpace(dir), buildkit.CacheDirFix); err != nil {
			return planOut{}, fmt.Errorf("cache directory: %w", err)
		}
	}
	var out planOut
	if in.What == "build" {
		var err error
		if out.Output, out.Platforms, out.Base, err = checkOutputs(ctx, in); err != nil {
			return planOut{}, err
		}
	}
	ws := in.Workspace
	if ws == nil {
		var err error
		if ws, err = chef.Load(c.Workspace); err != nil {
			return out, err
		}
	}
	p, err := ws.Plan(c.Bin)
	if err != nil {
		return out, err
	}
	if err := p.Write(c.PlanDir, in.Log); err != nil {
		return out, err
	}
	out.Plan = p
	if out.Locals, err = p.Recipe.LocalPackages(); err != nil {
		return out, err
	}
	return out, nil
}

// checkOutputs refuses, in seconds rather than after the compile, a dist
// directory or an output the kit would not replace, an output the strategy
// cannot use, and a runtime base that is unreachable or lacks a platform
// that will be published. The base it read is the one slim builds on.
func checkOutputs(ctx context.Context, in planIn) (publish.Output, []platform.Platform, publish.Base, error) {
	c := in.Config
	if err := atomicdir.CheckFix(c.Dist, distFix()); err != nil {
		return publish.Output{}, nil, publish.Base{}, fmt.Errorf("local output: %w", err)
	}
	out, err := publish.ParseOutput(c.Output)
	if err != nil {
		return out, nil, publish.Base{}, err
	}
	if err := publish.CheckOutput(out); err != nil {
		return out, nil, publish.Base{}, err
	}
	if out.Kind == "registry" && c.Image == "" {
		return out, nil, publish.Base{}, option.Usagef("no image name: the default output pushes to a registry; set %s (or image in [workspace.metadata.muslrust-chef]), or %s=oci:DIR or docker",
			option.Env(option.Image), option.Env(option.Output))
	}
	if c.Strategy == StrategySplit && out.Kind != "registry" {
		return out, nil, publish.Base{}, option.Usagef("%s=split pushes one platform by digest for image:merge, so it needs %s=registry (got %s)",
			option.Env(option.Strategy), option.Env(option.Output), out)
	}
	ps, err := publish.PlatformsForOutput(c.Platforms, out, in.Host)
	if err != nil {
		return out, nil, publish.Base{}, err
	}
	base, err := publish.ReadBase(ctx, baseName(c.Base), ps, in.Registry...)
	if err != nil {
		return out, nil, publish.Base{}, err
	}
	return out, ps, base, nil
}
