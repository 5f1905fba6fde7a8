package rust

import (
	"context"

	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/pipeline"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/internal/fail"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/internal/interrupt"
)

// Cook plans the workspace and builds only the dependency (cook) stage for every platform, exporting its registry cache.
//
// Run it on the main branch to pre-warm the cache every branch imports:
// with MUSLRUST_CHEF_CACHE (or MUSLRUST_CHEF_IMAGE, whose repository then
// holds buildcache-<branch> tags) the cook layers are exported with
// mode=max to the current branch's ref while the branch's and the main
// branch's refs are imported. The cargo flags are exactly those of
// rust:build (same knobs, same defaults, same Cargo.toml metadata), so
// rust:build finds the layer. Environment-only knobs as for rust:build;
// the log ends with a timings line, as for rust:build.
func (Rust) Cook(ctx context.Context,
	workspace *string, // MUSLRUST_CHEF_WORKSPACE: directory of the root Cargo.toml; default the current directory
	bin *string, // MUSLRUST_CHEF_BIN: binary whose dependencies are cooked; default the workspace's only binary
	platforms *string, // MUSLRUST_CHEF_PLATFORMS: comma-separated, default linux/amd64,linux/arm64
	image *string, // MUSLRUST_CHEF_IMAGE: image repo[:tag] whose repository holds the default cache refs
	builder *string, // MUSLRUST_CHEF_BUILDER_IMAGE: a published builder image (tag or digest); default: the kit builds its own from its embedded Dockerfile
	profile *string, // MUSLRUST_CHEF_PROFILE: cargo profile; default release
	features *string, // MUSLRUST_CHEF_FEATURES: comma-separated cargo features
	strategy *string, // MUSLRUST_CHEF_STRATEGY: cross, emulate, split (one platform, per-platform cache ref) or auto (default: cross if the builder declares it)
	cache *string, // MUSLRUST_CHEF_CACHE: registry cache refs (first exported), local:DIR, or off; default <image repo>:buildcache-<branch> when the output is a registry
	timings *string, // MUSLRUST_CHEF_TIMINGS: file to write the timing breakdown to as JSON, also when the cook fails; default none
) error {
	ctx, stop := interrupt.Context(ctx)
	defer stop()
	args := config.RustArgs{Workspace: workspace, Bin: bin, Platforms: platforms, Image: image,
		Builder: builder, Profile: profile, Features: features, Strategy: strategy, Cache: cache}
	c, opts, err := resolve(ctx, args)
	if err == nil {
		var r *pipeline.Result
		r, err = pipeline.Cook(ctx, c, opts...)
		err = report(r, err, timings)
	}
	return fail.Fatal(ctx, "rust:cook", err)
}
