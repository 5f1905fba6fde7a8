package rust

import (
	"context"
	"fmt"
	"os"

	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/ghoutput"
	"github.com/muslrust-chef/muslrust-chef/pkg/pipeline"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/slim"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/internal/fail"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/internal/interrupt"
)

// Build plans, cooks and builds the workspace's binary in BuildKit for every platform, verifies it and publishes a slim image.
//
// The cook stage of the embedded images/app/Dockerfile builds only the
// dependencies from rust:plan's skeleton, so it stays cached until they
// change; the build stage compiles the real sources with the very same
// cargo flags (profile, features, --locked, the explicit --target triple,
// RUSTFLAGS, strip) and dist/<os>_<arch>/<bin> is exported, checked to be a
// static executable and published like rust:slim does. Defaults come from
// [package.metadata.muslrust-chef] and [workspace.metadata.muslrust-chef]
// (image, platforms, base-image, features, profile, strategy); environment
// variables and flags override them. With the cross strategy (the default
// when the builder image's io.muslrust-chef.cross label covers every
// platform) cook and build run once on the build platform and compile each
// target triple with the builder's declared cross toolchain, no QEMU. More knobs, environment only:
// MUSLRUST_CHEF_PLAN_DIR, MUSLRUST_CHEF_DIST, MUSLRUST_CHEF_LIBC,
// MUSLRUST_CHEF_RUSTFLAGS, MUSLRUST_CHEF_NO_DEFAULT_FEATURES,
// MUSLRUST_CHEF_LOCKED, MUSLRUST_CHEF_STRIP, MUSLRUST_CHEF_REQUIRE_ALLOCATOR,
// MUSLRUST_CHEF_SBOM, MUSLRUST_CHEF_REFERRERS, MUSLRUST_CHEF_MAIN_BRANCH,
// MUSLRUST_CHEF_SOURCE, MUSLRUST_CHEF_REVISION, MUSLRUST_CHEF_VERSION,
// MUSLRUST_CHEF_BUILDKIT_IMAGE, MUSLRUST_CHEF_BUILDKIT_CONTAINER,
// MUSLRUST_CHEF_BUILDKIT_NETWORK, MUSLRUST_CHEF_BUILDKITD_CONFIG,
// BUILDKIT_HOST and SOURCE_DATE_EPOCH. The log ends with a timings line
// (plan, context upload, builder, cook, build, export, cache, verify, slim,
// push); in GitHub Actions the job's summary page (GITHUB_STEP_SUMMARY)
// gets per platform the binary's size, allocator, image digest, whether
// cook ran and why, the records' references, and the timings.
func (Rust) Build(ctx context.Context,
	workspace *string, // MUSLRUST_CHEF_WORKSPACE: directory of the root Cargo.toml; default the current directory
	bin *string, // MUSLRUST_CHEF_BIN: binary to build; default the workspace's only binary
	platforms *string, // MUSLRUST_CHEF_PLATFORMS: comma-separated, default linux/amd64,linux/arm64
	image *string, // MUSLRUST_CHEF_IMAGE: repo[:tag]; required for registry, default <bin>:latest otherwise
	tags *string, // MUSLRUST_CHEF_TAGS: extra comma-separated tags in the same repository
	output *string, // MUSLRUST_CHEF_OUTPUT: registry (default), oci:DIR, tar:FILE (one platform) or docker (host platform)
	base *string, // MUSLRUST_CHEF_BASE_IMAGE: runtime base reference or scratch; default chainguard/static pinned by digest
	builder *string, // MUSLRUST_CHEF_BUILDER_IMAGE: a published builder image (tag or digest); default: the kit builds its own from its embedded Dockerfile
	profile *string, // MUSLRUST_CHEF_PROFILE: cargo profile; default release
	features *string, // MUSLRUST_CHEF_FEATURES: comma-separated cargo features
	strategy *string, // MUSLRUST_CHEF_STRATEGY: cross, emulate (QEMU for foreign platforms), split (one platform, pushed by digest) or auto (default: cross if the builder declares it)
	cache *string, // MUSLRUST_CHEF_CACHE: registry cache refs (first exported), local:DIR, or off; default <image repo>:buildcache-<branch> when the output is a registry
	timings *string, // MUSLRUST_CHEF_TIMINGS: file to write the timing breakdown to as JSON, also when the build fails; default none
	compare *string, // MUSLRUST_CHEF_COMPARE: image (repo:tag or repo@sha256:...) whose records "why did cook run" compares with when cook runs; default the tag being replaced, else the previous dist/
) error {
	ctx, stop := interrupt.Context(ctx)
	defer stop()
	args := config.RustArgs{Workspace: workspace, Bin: bin, Platforms: platforms, Image: image, Tags: tags,
		Output: output, Base: base, Builder: builder, Profile: profile, Features: features,
		Strategy: strategy, Cache: cache, Compare: compare}
	c, opts, err := resolve(ctx, args)
	if err == nil {
		var r *pipeline.Result
		r, err = pipeline.Build(ctx, c, opts...)
		err = report(r, err, timings)
	}
	return fail.Fatal(ctx, "rust:build", err)
}

// report writes a run's timings where they were asked for: the JSON file
// (-timings, MUSLRUST_CHEF_TIMINGS) and, in GitHub Actions, the run's block
// on the job's summary page (a build's: what shipped, why cook ran, the
// records and the timings). A failed run's too, so CI shows where it stopped;
// its own error then wins over a failure to write them, which is only
// printed.
func report(r *pipeline.Result, runErr error, timings *string) error {
	if r == nil {
		return runErr
	}
	var errs []error
	if file := config.TimingsFile(timings); file != "" {
		if err := r.Timings.WriteFile(file); err != nil {
			errs = append(errs, err)
		}
	}
	if err := ghoutput.AppendSummary(config.GitHubStepSummary(), r.StepSummary()); err != nil {
		errs = append(errs, err)
	}
	switch {
	case runErr != nil:
		for _, err := range errs {
			fmt.Fprintf(os.Stderr, "warning: %s\n", config.Explain(err))
		}
		return runErr
	case len(errs) > 0:
		return errs[0]
	}
	return nil
}

// resolve reads the knobs of rust:cook and rust:build (config.Rust) and
// what they share with rust:slim: the OCI labels, SOURCE_DATE_EPOCH and
// the host platform, the BuildKit and registry options, plus the cargo
// registry tokens and the SSH agent from the environment.
func resolve(ctx context.Context, args config.RustArgs) (pipeline.Config, []pipeline.Option, error) {
	s, err := config.Rust(args)
	if err != nil {
		return pipeline.Config{}, nil, err
	}
	c := pipeline.Config{Spec: s.Spec}
	created, err := config.Epoch()
	if err != nil {
		return c, nil, err
	}
	bkOpts, err := config.BuildkitOptions()
	if err != nil {
		return c, nil, err
	}
	tokens, err := config.CargoTokens(os.Environ())
	if err != nil {
		return c, nil, err
	}
	regOpts, err := config.RegistryOptions()
	if err != nil {
		return c, nil, err
	}
	// An unsupported host only matters for tar and docker outputs, which
	// then fail with a message naming the platforms to choose from.
	host, _ := platform.Host()
	return c, []pipeline.Option{
		pipeline.WithWorkspace(s.Loaded),
		pipeline.WithOptionNames(config.KnobName),
		pipeline.WithConnectOptions(bkOpts...),
		pipeline.WithCredentials(pipeline.Credentials{CargoTokens: tokens, SSHAgent: config.SSHAgent()}),
		pipeline.WithRegistryOptions(regOpts...),
		pipeline.WithGitHubOutput(config.GitHubOutput()),
		pipeline.WithStdout(os.Stdout),
		pipeline.WithLog(os.Stderr),
		pipeline.WithLabels(labels(ctx, nil, nil, nil, s.Workspace)),
		pipeline.WithCreated(created),
		pipeline.WithHost(host),
		pipeline.WithKitVersion(config.KitVersion()),
	}, nil
}

// labels are the image's OCI labels: flag > environment > what GitHub
// Actions or git say (source, revision).
func labels(ctx context.Context, source, revision, version *string, workspace string) slim.Labels {
	return slim.Labels{
		Source:   config.FirstNonEmpty(config.Source.Value(source), config.GitHubSource()),
		Revision: config.FirstNonEmpty(config.Revision.Value(revision), config.GitRevision(ctx, workspace)),
		Version:  config.Version.Value(version),
	}
}
