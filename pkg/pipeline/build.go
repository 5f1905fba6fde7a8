package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	bkclient "github.com/moby/buildkit/client"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/slim"
)

// Runtime is what the caller supplies besides the knobs.
type Runtime struct {
	// BuildKit is a connected builder; nil connects with ConnectOptions in
	// buildkit.Connect's order: WithHost or BUILDKIT_HOST, the current
	// buildx builder, the Docker daemon's BuildKit when it can do what the
	// build needs, else a BuildKit container started (or reused) through
	// the Docker API.
	BuildKit       buildkit.Builder
	ConnectOptions []buildkit.Option
	// GitHubOutput is the file step outputs are appended to
	// ($GITHUB_OUTPUT in Actions); empty writes nothing.
	GitHubOutput string
	// Stdout receives the published reference; Log the progress lines.
	Stdout, Log io.Writer
	// OnStatus sees every BuildKit status update.
	OnStatus func(*bkclient.SolveStatus)
	// Labels, Created and Host are passed to slim as rust:slim does.
	Labels  slim.Labels
	Created time.Time
	Host    platform.Platform
	// RegistryOptions and SlimOptions reach pkg/slim (tests inject transports).
	RegistryOptions []publish.RegistryOption
	SlimOptions     []slim.Option
	// BuilderOptions are used when inspecting the builder image.
	BuilderOptions []remote.Option
	// Credentials for private dependencies (the target reads them from the
	// environment with pkg/config).
	Credentials Credentials
}

// Build plans, cooks, builds, exports dist/<os>_<arch>/<bin> per platform,
// verifies the binaries and publishes the slim image: an index through
// slim.Ship (emulate), or one platform's image pushed by digest (split).
func Build(ctx context.Context, s Settings, rt Runtime) (*Result, error) {
	r, req, done, err := prepare(ctx, s, &rt, "build")
	if err != nil {
		return r, err
	}
	defer done()
	c := r.Config
	out, err := publish.ParseOutput(c.Output)
	if err != nil {
		return r, err
	}
	if out.Kind == "registry" && c.Image == "" {
		return r, errors.New("no image name: the default output pushes to a registry; set MUSLRUST_CHEF_IMAGE (or image in [workspace.metadata.muslrust-chef]), or MUSLRUST_CHEF_OUTPUT=oci:DIR or docker")
	}
	if c.Strategy == StrategySplit && out.Kind != "registry" {
		return r, fmt.Errorf("MUSLRUST_CHEF_STRATEGY=split pushes one platform by digest for image:merge, so it needs MUSLRUST_CHEF_OUTPUT=registry (got %s)", out)
	}
	// Fail in seconds, not after the compile, when the runtime base is
	// unreachable or lacks a platform that will be published.
	slimPlatforms, err := slim.PlatformsForOutput(c.Platforms, out, rt.Host)
	if err != nil {
		return r, err
	}
	baseOpts := rt.SlimOptions
	if c.Base != "" {
		baseOpts = append(append([]slim.Option{}, baseOpts...), slim.WithBase(c.Base))
	}
	if err := slim.CheckBase(ctx, slimPlatforms, baseOpts...); err != nil {
		return r, err
	}
	// Two runs on one workspace take turns from export to publish, so dist/
	// and the image never hold one run's binary for one platform and the
	// other run's for another.
	release, err := atomicdir.LockParent(ctx, c.Dist, func() {
		fmt.Fprintf(rt.Log, "build: another run is writing %s; waiting for it to finish\n", c.Dist)
	})
	if err != nil {
		return r, fmt.Errorf("waiting for the other run writing %s: %w", c.Dist, err)
	}
	defer release()
	req.Target = app.StageExport
	if r.Strategy == StrategyCross {
		req.Target = app.StageCrossExport
	}
	req.Local = &buildkit.LocalOutput{Dir: c.Dist, SplitPlatforms: true, Hint: distHint}
	if err := solve(ctx, rt, req, r); err != nil {
		return r, err
	}

	r.Binaries = map[platform.Platform]string{}
	for _, p := range c.Platforms {
		bin := filepath.Join(c.Dist, p.DistDir(), c.Bin)
		res, err := elfcheck.VerifyLibc(bin, p, expectedLibc(c, r, p))
		if err != nil {
			var le *elfcheck.LibcError
			if errors.As(err, &le) {
				return r, err
			}
			return r, fmt.Errorf("built %s for %s, but it is not a static executable: %v: build with a static toolchain (musl, or gnu with -C target-feature=+crt-static via MUSLRUST_CHEF_RUSTFLAGS)", bin, p, err)
		}
		if err := elfcheck.RequireAllocator(res, c.RequireAllocator); err != nil {
			return r, err
		}
		r.Binaries[p] = bin
		v, _ := r.StageRun(app.StageCook, stageKey(c, p))
		fmt.Fprintf(rt.Log, "build: %s verified static, %s, %s (cook %s)\n", bin, res.Libc, res.Alloc, ranOrCached(v))
		if w := elfcheck.AllocatorWarning(res); w != "" {
			fmt.Fprintf(rt.Log, "build: %s\n", w)
		}
	}

	if c.Strategy == StrategySplit {
		r.Published, err = pushByDigest(ctx, c, rt)
		return r, err
	}
	r.Published, err = slim.Ship(ctx, slim.Request{
		Bin: c.Bin, Platforms: c.Platforms, Dist: c.Dist, Base: c.Base, Output: out,
		Image: c.Image, Tags: c.Tags, Labels: rt.Labels, Created: rt.Created, Host: rt.Host,
		Stdout: rt.Stdout, Log: rt.Log, RegistryOptions: rt.RegistryOptions, Options: rt.SlimOptions,
		GitHubOutput: rt.GitHubOutput,
	})
	return r, err
}
