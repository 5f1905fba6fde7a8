package rust

import (
	"context"
	"os"

	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/pipeline"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/internal/fail"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/internal/interrupt"
)

// Slim verifies the static binaries in dist/<os>_<arch>/<bin> and publishes a minimal multi-platform image of them.
//
// Each binary must be a static ELF executable for its platform (no
// interpreter, no shared libraries). It lands at /usr/local/bin/<bin>, owned
// by 65532:65532, as one deterministic layer on the runtime base (mtimes and
// the created time from SOURCE_DATE_EPOCH, default 0), with the binary as
// entrypoint, user 65532 and OCI labels; same inputs give the same digest.
// No Docker daemon is needed except for -output=docker. Every flag has a
// MUSLRUST_CHEF_* environment variable; the flag wins. Registry credentials
// come from the Docker config file (docker login) and its credential
// helpers. In GitHub Actions, image and digest go to $GITHUB_OUTPUT.
func (Rust) Slim(ctx context.Context,
	bin *string, // MUSLRUST_CHEF_BIN: binary name; default the only file present in every dist slot
	platforms *string, // MUSLRUST_CHEF_PLATFORMS: comma-separated, default linux/amd64,linux/arm64
	dist *string, // MUSLRUST_CHEF_DIST: directory of <os>_<arch>/<bin>, default dist
	base *string, // MUSLRUST_CHEF_BASE_IMAGE: runtime base reference or scratch; default chainguard/static pinned by digest
	output *string, // MUSLRUST_CHEF_OUTPUT: registry (default), oci:DIR, tar:FILE (one platform) or docker (host platform)
	image *string, // MUSLRUST_CHEF_IMAGE: repo[:tag]; required for registry, default <bin>:latest otherwise
	tags *string, // MUSLRUST_CHEF_TAGS: extra comma-separated tags in the same repository
	source *string, // MUSLRUST_CHEF_SOURCE: org.opencontainers.image.source label; default the GitHub repository in Actions
	revision *string, // MUSLRUST_CHEF_REVISION: org.opencontainers.image.revision label; default GITHUB_SHA or git HEAD
	version *string, // MUSLRUST_CHEF_VERSION: org.opencontainers.image.version label; default the image tag unless latest
) error {
	ctx, stop := interrupt.Context(ctx)
	defer stop()
	c, opts, err := slimConfig(ctx, bin, platforms, dist, base, output, image, tags, source, revision, version)
	if err == nil {
		_, err = pipeline.Slim(ctx, c, opts...)
	}
	return fail.Fatal(ctx, "rust:slim", err)
}

// slimConfig reads rust:slim's knobs.
func slimConfig(ctx context.Context, bin, platforms, dist, base, output, image, tags, source, revision, version *string) (pipeline.SlimConfig, []pipeline.Option, error) {
	ps, err := platform.ParseList(config.Platforms.Value(platforms))
	if err != nil {
		return pipeline.SlimConfig{}, nil, option.Usagef("%w", err)
	}
	out, err := publish.ParseOutput(config.Output.Value(output))
	if err != nil {
		return pipeline.SlimConfig{}, nil, option.Usagef("%w", err)
	}
	created, err := config.Epoch()
	if err != nil {
		return pipeline.SlimConfig{}, nil, err
	}
	regOpts, err := config.RegistryOptions()
	if err != nil {
		return pipeline.SlimConfig{}, nil, err
	}
	// An unsupported host only matters for tar and docker outputs, which
	// then fail with a message naming the platforms to choose from.
	host, _ := platform.Host()
	c := pipeline.SlimConfig{
		Bin:       config.Bin.Value(bin),
		Platforms: ps,
		Dist:      config.Dist.Value(dist),
		Base:      config.BaseImage.Value(base),
		Output:    out,
		Image:     config.Image.Value(image),
		Tags:      config.List(config.Tags.Value(tags)),
	}
	return c, []pipeline.Option{
		pipeline.WithRegistryOptions(regOpts...),
		pipeline.WithOptionNames(config.KnobName),
		pipeline.WithGitHubOutput(config.GitHubOutput()),
		pipeline.WithLabels(labels(ctx, source, revision, version, ".")),
		pipeline.WithCreated(created),
		pipeline.WithHost(host),
		pipeline.WithStdout(os.Stdout),
		pipeline.WithLog(os.Stderr),
	}, nil
}
