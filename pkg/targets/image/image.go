// Package image holds the importable image:* Mage targets: build and
// publish the muslrust-chef builder base image, and merge per-platform
// images into one index. A repository gets them with
//
//	//mage:import
//	_ "github.com/muslrust-chef/muslrust-chef/pkg/targets/image"
//
// The targets only read flags and environment; the work is in
// pkg/config (the knobs), pkg/builderimage and pkg/publish (Merge).
package image

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"
	"github.com/moby/moby/client"

	"github.com/muslrust-chef/muslrust-chef/pkg/builderimage"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/ghoutput"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/internal/fail"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/internal/interrupt"
)

// Image groups the targets that build and publish container images.
type Image mg.Namespace

// Build builds the muslrust-chef builder image for this machine's platform and loads it into Docker or writes an OCI layout.
//
// The helper CLI is cross-compiled on the host and the embedded
// images/muslrust-chef/Dockerfile is built with BuildKit (BUILDKIT_HOST,
// else the current buildx builder, else the Docker daemon's own BuildKit,
// else a moby/buildkit container it starts: MUSLRUST_CHEF_BUILDKIT_IMAGE).
// -output=docker (default) loads the image into the Docker daemon
// (DOCKER_HOST); -output=oci:DIR writes an OCI image layout, replaced only
// when the build succeeds. -cache imports registry caches (no export).
// Every flag has a MUSLRUST_CHEF_* environment variable; the flag wins.
func (Image) Build(ctx context.Context,
	image *string, // MUSLRUST_CHEF_PUBLISH_IMAGE: name[:tag] of the loaded image, default muslrust-chef:dev
	output *string, // MUSLRUST_CHEF_BUILDER_OUTPUT: docker (default, load into the Docker daemon) or oci:DIR
	cache *string, // MUSLRUST_CHEF_CACHE: registry cache refs to import, comma-separated; default none
	muslrust *string, // MUSLRUST_CHEF_MUSLRUST_IMAGE: clux/muslrust reference to build on; default the Dockerfile's pinned version-date tag
	chef *string, // MUSLRUST_CHEF_CARGO_CHEF_VERSION: prebuilt cargo-chef release, or none; default the Dockerfile's pin
	chefsha *string, // MUSLRUST_CHEF_CARGO_CHEF_SHA256: amd64=<sha256>,arm64=<sha256> of the release assets; needed for another version
) error {
	ctx, stop := interrupt.Context(ctx)
	defer stop()
	s, err := config.ImageFromKnobs(config.ImageFlags{Image: image, Cache: cache, Output: output, Muslrust: muslrust, Chef: chef, ChefSHA256: chefsha})
	if err != nil {
		return fail.Fatal(ctx, "image:build", err)
	}
	host, err := platform.Host()
	if err != nil {
		return fail.Fatal(ctx, "image:build", option.Usagef("this machine's platform cannot be built: %w; use image:push", err))
	}
	req, err := builderimage.PlanBuild(ctx, host, s.Options(ctx)...)
	if err != nil {
		return fail.Fatal(ctx, "image:build", err)
	}
	if req.Output.Kind == "docker" {
		// The daemon DOCKER_HOST names (and its TLS settings).
		if req.Docker, err = builderimage.NewDockerLoader(client.FromEnv); err != nil {
			return fail.Fatal(ctx, "image:build", err)
		}
		defer req.Docker.Close()
	}
	// One platform, no cache export: the Docker daemon's BuildKit will do,
	// unless it must write an OCI layout without the containerd store.
	// Named contexts: the Dockerfile reads the helper from one (it is also
	// a stage of rust:build's solve).
	b, err := connect(ctx, buildkit.Needs{NamedContexts: true, Archives: req.Output.Kind == "oci"})
	if err != nil {
		return fail.Fatal(ctx, "image:build", err)
	}
	defer b.Close()
	res, err := builderimage.Build(ctx, b, req)
	if err != nil {
		return fail.Fatal(ctx, "image:build", err)
	}
	fmt.Fprintf(os.Stdout, "%s (%s)\n", res.Where, host)
	return nil
}

// Push builds the builder image for every platform and pushes one multi-platform index, with a registry cache.
//
// Tags: -tags (bare tags in the image's repository or full references),
// else docker/metadata-action's DOCKER_METADATA_OUTPUT_JSON, else a git tag
// muslrust-chef-vX.Y.Z on HEAD (GITHUB_REF in Actions) giving X.Y.Z, X.Y and
// X; a tag in -image counts too. Cache (mode=max): imports
// <repo>:buildcache-<branch> and <repo>:buildcache-<main branch>, exports
// the first, unless -cache says otherwise. -bydigest pushes one platform
// untagged for split builds (merge them with image:merge). The pushed
// digest and repo@digest go to $GITHUB_OUTPUT as digest and image. Registry
// credentials come from the Docker config file (docker login).
func (Image) Push(ctx context.Context,
	image *string, // MUSLRUST_CHEF_PUBLISH_IMAGE: registry/org/muslrust-chef[:tag]; default the repository of DOCKER_METADATA_OUTPUT_JSON's first tag
	platforms *string, // MUSLRUST_CHEF_PLATFORMS: comma-separated, default linux/amd64,linux/arm64
	tags *string, // MUSLRUST_CHEF_TAGS: comma-separated tags (1.2, edge) or full references; default from metadata-action or the git tag
	cache *string, // MUSLRUST_CHEF_CACHE: cache refs (first exported, all imported) or off; default <repo>:buildcache-<branch>,<repo>:buildcache-main
	bydigest *bool, // MUSLRUST_CHEF_PUSH_BY_DIGEST: push one platform by digest, untagged, for image:merge
	muslrust *string, // MUSLRUST_CHEF_MUSLRUST_IMAGE: clux/muslrust reference to build on; default the Dockerfile's pinned version-date tag
	chef *string, // MUSLRUST_CHEF_CARGO_CHEF_VERSION: prebuilt cargo-chef release, or none; default the Dockerfile's pin
	chefsha *string, // MUSLRUST_CHEF_CARGO_CHEF_SHA256: amd64=<sha256>,arm64=<sha256> of the release assets; needed for another version
	source *string, // MUSLRUST_CHEF_SOURCE: org.opencontainers.image.source label; default the GitHub repository in Actions
	revision *string, // MUSLRUST_CHEF_REVISION: org.opencontainers.image.revision label; default GITHUB_SHA or git HEAD
	version *string, // MUSLRUST_CHEF_VERSION: org.opencontainers.image.version label; default X.Y.Z of the git tag
) error {
	ctx, stop := interrupt.Context(ctx)
	defer stop()
	s, err := config.ImageFromKnobs(config.ImageFlags{Image: image, Platforms: platforms, Tags: tags, Cache: cache, Muslrust: muslrust,
		Chef: chef, ChefSHA256: chefsha, Source: source, Revision: revision, Version: version, PushByDigest: bydigest})
	if err != nil {
		return fail.Fatal(ctx, "image:push", err)
	}
	req, err := builderimage.PlanPush(ctx, s.Options(ctx)...)
	if err != nil {
		return fail.Fatal(ctx, "image:push", err)
	}
	b, err := connect(ctx, buildkit.Needs{NamedContexts: true, MultiPlatform: len(req.Platforms) > 1, CacheExport: req.Cache.To != "", PushByDigest: req.PushByDigest})
	if err != nil {
		return fail.Fatal(ctx, "image:push", err)
	}
	defer b.Close()
	res, err := builderimage.Push(ctx, b, req)
	if err != nil {
		return fail.Fatal(ctx, "image:push", err)
	}
	fmt.Fprintln(os.Stdout, res.Ref)
	for _, t := range res.Tags {
		fmt.Fprintln(os.Stdout, t)
	}
	if err := ghoutput.Write(config.GitHubOutput(), [2]string{"digest", res.Digest}, [2]string{"image", res.Ref}); err != nil {
		return fail.Fatal(ctx, "image:push", fmt.Errorf("pushed %s but %w", res.Ref, err))
	}
	return nil
}

// Merge pushes one multi-platform index made of per-platform images given by digest, and tags it.
//
// -digests lists repo@sha256:... images (the digest outputs of image:push
// -bydigest on each runner), all in one repository; each image's platform
// is read from its config. Every image is checked before the index is
// pushed, and the index before any tag. Tags follow image:push's rules
// (-tags, DOCKER_METADATA_OUTPUT_JSON, git tag muslrust-chef-vX.Y.Z); with
// none, the index is pushed by digest only. Works for any images, not only
// the builder image. The index digest and repo@digest go to $GITHUB_OUTPUT.
func (Image) Merge(ctx context.Context,
	digests *string, // MUSLRUST_CHEF_DIGESTS: comma-separated repo@sha256:... per-platform images in one repository
	tags *string, // MUSLRUST_CHEF_TAGS: comma-separated tags or full references in that repository; default from metadata-action or the git tag
) error {
	ctx, stop := interrupt.Context(ctx)
	defer stop()
	plan, err := builderimage.PlanMerge(ctx, config.List(config.Digests.Value(digests)), config.MergeOptions(config.Tags.Value(tags))...)
	if err != nil {
		return fail.Fatal(ctx, "image:merge", err)
	}
	regOpts, err := config.RegistryOptions()
	if err != nil {
		return fail.Fatal(ctx, "image:merge", err)
	}
	res, err := publish.Merge(ctx, plan.Digests, plan.Tags, regOpts...)
	if err != nil {
		return fail.Fatal(ctx, "image:merge", err)
	}
	fmt.Fprintln(os.Stdout, res.Ref)
	for _, t := range res.Tags {
		fmt.Fprintln(os.Stdout, t)
	}
	if err := ghoutput.Write(config.GitHubOutput(), [2]string{"digest", res.Digest}, [2]string{"image", res.Ref}); err != nil {
		return fail.Fatal(ctx, "image:merge", fmt.Errorf("pushed %s but %w", res.Ref, err))
	}
	return nil
}

// connect resolves BuildKit (BUILDKIT_HOST, buildx, the Docker daemon's
// built-in BuildKit if it can do what the target needs, or a BuildKit
// container it starts).
func connect(ctx context.Context, needs buildkit.Needs) (buildkit.Builder, error) {
	opts, err := config.BuildkitOptions()
	if err != nil {
		return nil, err
	}
	return buildkit.Connect(ctx, append(opts, buildkit.WithNeeds(needs))...)
}
