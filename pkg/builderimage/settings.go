package builderimage

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/imagetags"
	"github.com/muslrust-chef/muslrust-chef/pkg/merge"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Settings are the image:* knobs as given (flag, else environment, else
// default), before validation. The mage targets fill them from pkg/config;
// Plan* turn them into requests with one-line errors naming the knob.
type Settings struct {
	Image         string // MUSLRUST_CHEF_PUBLISH_IMAGE
	Platforms     string // MUSLRUST_CHEF_PLATFORMS
	Tags          string // MUSLRUST_CHEF_TAGS
	Cache         string // MUSLRUST_CHEF_CACHE
	MainBranch    string // MUSLRUST_CHEF_MAIN_BRANCH
	PushByDigest  bool   // MUSLRUST_CHEF_PUSH_BY_DIGEST
	Output        string // MUSLRUST_CHEF_BUILDER_OUTPUT
	MuslrustImage string // MUSLRUST_CHEF_MUSLRUST_IMAGE
	ChefVersion   string // MUSLRUST_CHEF_CARGO_CHEF_VERSION
	ChefSHA256    string // MUSLRUST_CHEF_CARGO_CHEF_SHA256
	ChefURL       string // MUSLRUST_CHEF_CARGO_CHEF_URL
	// CrossToolchain "none" skips the cross-compilation toolchain and
	// declaration; empty keeps the Dockerfile's pins.
	CrossToolchain string // MUSLRUST_CHEF_CROSS_TOOLCHAIN
	Source         string // MUSLRUST_CHEF_SOURCE
	Revision       string // MUSLRUST_CHEF_REVISION
	Version        string // MUSLRUST_CHEF_VERSION
	// BuilderArgs are more KEY=VALUE build arguments of the Dockerfile
	// (download mirrors), the same list rust:build gives the kit's own
	// builder, so one setting serves both.
	BuilderArgs string // MUSLRUST_CHEF_BUILDER_ARGS
}

// FromKnobs resolves every knob from its flag (nil: not given) or the
// environment.
func FromKnobs(image, platforms, tags, cache, output, muslrust, chef, chefsha, source, revision, version *string, bydigest *bool) (Settings, error) {
	by, err := config.PushByDigest.Bool(bydigest)
	if err != nil {
		return Settings{}, err
	}
	return Settings{
		Image:          config.BuilderImage.Value(image),
		Platforms:      config.Platforms.Value(platforms),
		Tags:           config.Tags.Value(tags),
		Cache:          config.Cache.Value(cache),
		MainBranch:     config.MainBranch.Value(nil),
		PushByDigest:   by,
		Output:         config.BuilderOutput.Value(output),
		MuslrustImage:  config.MuslrustImage.Value(muslrust),
		ChefVersion:    config.CargoChefVersion.Value(chef),
		ChefSHA256:     config.CargoChefSHA256.Value(chefsha),
		ChefURL:        config.CargoChefURL.Value(nil),
		CrossToolchain: config.CrossToolchain.Value(nil),
		Source:         config.Source.Value(source),
		Revision:       config.Revision.Value(revision),
		Version:        config.Version.Value(version),
		BuilderArgs:    config.BuilderArgs.Value(nil),
	}, nil
}

// UsageError is a mistake in the settings (exit code 2 in the targets).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usage(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// spec validates what Push and Build share.
func (s Settings) spec(ctx context.Context, ps []platform.Platform, version string, labels map[string]string) (Spec, error) {
	sums, err := ParseChefSHA256(s.ChefSHA256)
	if err != nil {
		return Spec{}, &UsageError{Err: err}
	}
	chef := CargoChef{Version: s.ChefVersion, SHA256: sums, BaseURL: s.ChefURL}
	noCross := false
	switch strings.ToLower(strings.TrimSpace(s.CrossToolchain)) {
	case "":
	case "none", "off":
		noCross = true
	default:
		return Spec{}, usage("MUSLRUST_CHEF_CROSS_TOOLCHAIN=%q: use none to build without the cross-compilation toolchain, or leave it empty for the Dockerfile's pins", s.CrossToolchain)
	}
	if _, err := chef.buildArgs(ps); err != nil {
		return Spec{}, &UsageError{Err: err}
	}
	l := Labels{
		Version:  config.FirstNonEmpty(s.Version, version),
		Revision: config.FirstNonEmpty(s.Revision, labels["org.opencontainers.image.revision"], config.GitRevision(ctx, ".")),
		Source:   config.FirstNonEmpty(s.Source, labels["org.opencontainers.image.source"], config.GitHubSource()),
	}
	extra, err := builder.ParseBuilderArgs(s.BuilderArgs)
	if err != nil {
		return Spec{}, &UsageError{Err: err}
	}
	return Spec{Platforms: ps, MuslrustImage: s.MuslrustImage, CargoChef: chef, NoCross: noCross, Labels: l, BuildArgs: extra}, nil
}

// PlanPush validates the settings and resolves repository, tags, cache and
// labels for Push. Nothing is built or contacted except git.
func PlanPush(ctx context.Context, s Settings) (PushRequest, error) {
	ps, err := platform.ParseList(config.FirstNonEmpty(s.Platforms, platform.Default))
	if err != nil {
		return PushRequest{}, usage("MUSLRUST_CHEF_PLATFORMS: %v", err)
	}
	imageStr := strings.TrimSpace(s.Image)
	var repo name.Repository
	var imageTag string
	if imageStr != "" {
		ref, err := name.ParseReference(imageStr)
		if err != nil {
			return PushRequest{}, usage("MUSLRUST_CHEF_PUBLISH_IMAGE %q is not a valid reference (%v): use registry/org/muslrust-chef[:tag]", imageStr, err)
		}
		if _, ok := ref.(name.Digest); ok {
			return PushRequest{}, usage("MUSLRUST_CHEF_PUBLISH_IMAGE %q names a digest: give registry/org/muslrust-chef[:tag]; the digest is computed", imageStr)
		}
		repo = ref.Context()
		// A tag written in the image name counts only if the user wrote one
		// (name.ParseReference adds :latest otherwise).
		if last := imageStr[strings.LastIndex(imageStr, "/")+1:]; strings.Contains(last, ":") {
			imageTag = ref.Identifier()
		}
	}
	res, err := imagetags.Resolve(ctx, imagetags.Input{Repo: repo, Explicit: splitList(s.Tags), ExplicitFrom: "MUSLRUST_CHEF_TAGS"})
	if err != nil {
		return PushRequest{}, usage("%v", err)
	}
	if repo.RepositoryStr() == "" {
		if len(res.Refs) == 0 {
			return PushRequest{}, usage("no image to push: set MUSLRUST_CHEF_PUBLISH_IMAGE (or -image) to registry/org/muslrust-chef")
		}
		repo = res.Refs[0].Context()
	}
	tags := res.Refs
	if imageTag != "" {
		t := repo.Tag(imageTag)
		dup := false
		for _, x := range tags {
			dup = dup || x.Name() == t.Name()
		}
		if !dup {
			tags = append([]name.Tag{t}, tags...)
		}
	}
	spec, err := s.spec(ctx, ps, res.Version, res.Labels)
	if err != nil {
		return PushRequest{}, err
	}
	suffix := ""
	if len(ps) == 1 {
		suffix = "-" + ps[0].Arch
	}
	main := config.FirstNonEmpty(s.MainBranch, "main")
	cache, err := buildcache.Parse(s.Cache, repo, buildcache.Branch(ctx, main), main, suffix)
	if err != nil {
		return PushRequest{}, &UsageError{Err: err}
	}
	req := PushRequest{Spec: spec, Repo: repo, Tags: tags, PushByDigest: s.PushByDigest, Cache: cache}
	if s.PushByDigest && len(ps) != 1 {
		return PushRequest{}, usage("MUSLRUST_CHEF_PUSH_BY_DIGEST builds one platform per run, got %s: set MUSLRUST_CHEF_PLATFORMS to one platform per runner and merge with image:merge", platform.Join(ps))
	}
	if !s.PushByDigest && len(tags) == 0 {
		return PushRequest{}, usage("no tag for %s: run on a git tag %sX.Y.Z, set MUSLRUST_CHEF_TAGS (e.g. edge), pass DOCKER_METADATA_OUTPUT_JSON, or push by digest (MUSLRUST_CHEF_PUSH_BY_DIGEST=true)", repo.Name(), imagetags.GitTagPrefix)
	}
	return req, nil
}

// PlanBuild validates the settings for Build on the given platform.
func PlanBuild(ctx context.Context, s Settings, host platform.Platform) (BuildRequest, error) {
	out, err := ParseOutput(s.Output)
	if err != nil {
		return BuildRequest{}, usage("MUSLRUST_CHEF_BUILDER_OUTPUT: %v", err)
	}
	imageName := config.FirstNonEmpty(strings.TrimSpace(s.Image), "muslrust-chef:dev")
	if _, err := name.NewTag(imageName); err != nil {
		return BuildRequest{}, usage("MUSLRUST_CHEF_PUBLISH_IMAGE %q is not a valid name[:tag] (%v)", imageName, err)
	}
	version := ""
	if res, err := imagetags.Resolve(ctx, imagetags.Input{}); err == nil {
		version = res.Version
	}
	spec, err := s.spec(ctx, []platform.Platform{host}, version, nil)
	if err != nil {
		return BuildRequest{}, err
	}
	req := BuildRequest{Spec: spec, Name: imageName, Output: out}
	// A local build imports a cache only when told which (it never exports).
	if strings.TrimSpace(s.Cache) != "" {
		cs, err := buildcache.Parse(s.Cache, name.Repository{}, "", "", "")
		if err != nil {
			return BuildRequest{}, &UsageError{Err: err}
		}
		req.CacheFrom = cs.From
	}
	return req, nil
}

// MergePlan is a validated image:merge.
type MergePlan struct {
	Digests []string
	Tags    []name.Tag
}

// PlanMerge validates the digests and resolves the tags (same rules as
// image:push) in the digests' repository.
func PlanMerge(ctx context.Context, digests, tags string) (MergePlan, error) {
	list := splitList(digests)
	if len(list) == 0 {
		return MergePlan{}, usage("no digests to merge: set MUSLRUST_CHEF_DIGESTS (or -digests) to repo@sha256:...,repo@sha256:... from the per-platform image:push -bydigest runs")
	}
	ds, err := merge.ParseDigests(list)
	if err != nil {
		return MergePlan{}, &UsageError{Err: err}
	}
	repo := ds[0].Context()
	res, err := imagetags.Resolve(ctx, imagetags.Input{Repo: repo, Explicit: splitList(tags), ExplicitFrom: "MUSLRUST_CHEF_TAGS"})
	if err != nil {
		return MergePlan{}, usage("%v", err)
	}
	for _, t := range res.Refs {
		if t.Context().Name() != repo.Name() {
			return MergePlan{}, usage("tag %s (from %s) is in repository %s, but the images are in %s: an index is pushed where its platform images are; tag within %s",
				t.Name(), res.From, t.Context().Name(), repo.Name(), repo.Name())
		}
	}
	return MergePlan{Digests: list, Tags: res.Refs}, nil
}

func splitList(s string) []string { return config.List(s) }
