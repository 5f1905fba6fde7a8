package builderimage

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/imagetags"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// Option is one input of PlanPush or PlanBuild, as the user wrote it:
// the plan validates it and names the option in its usage errors.
type Option func(*settings)

type settings struct {
	image, platforms, output, cache string
	tags                            []string
	mainBranch, branch              string
	pushByDigest                    bool
	muslrustImage                   string
	chefVersion, chefSHA256         string
	chefURL                         string
	crossToolchain                  string
	builderArgs                     string
	labels, fallback                Labels
	metadata, gitHubRef             string
}

// WithImage is the image reference: registry/org/muslrust-chef[:tag] for
// image:push, name[:tag] for image:build (default muslrust-chef:dev).
func WithImage(ref string) Option { return func(s *settings) { s.image = ref } }

// WithPlatforms is the comma-separated list of platforms image:push builds
// (default linux/amd64,linux/arm64).
func WithPlatforms(list string) Option { return func(s *settings) { s.platforms = list } }

// WithTags are the explicit tags, bare or full references.
func WithTags(tags ...string) Option { return func(s *settings) { s.tags = tags } }

// WithCache is the registry cache: refs (the first exported), or off;
// empty derives <repo>:buildcache-<branch> and the main branch's.
func WithCache(spec string) Option { return func(s *settings) { s.cache = spec } }

// WithBranch names the branch being built and the main branch, whose
// cache every build imports (buildcache.Branch detects the first).
func WithBranch(branch, main string) Option {
	return func(s *settings) { s.branch, s.mainBranch = branch, main }
}

// WithPushByDigest pushes one platform untagged, for image:merge.
func WithPushByDigest(on bool) Option { return func(s *settings) { s.pushByDigest = on } }

// WithOutput is where image:build puts the image: docker or oci:DIR.
func WithOutput(spec string) Option { return func(s *settings) { s.output = spec } }

// WithMuslrustImage replaces the Dockerfile's clux/muslrust pin.
func WithMuslrustImage(ref string) Option { return func(s *settings) { s.muslrustImage = ref } }

// WithCargoChef selects the cargo-chef release (version, none, or empty
// for the pin), its per-architecture checksums (amd64=<hex>,arm64=<hex>)
// and a download mirror.
func WithCargoChef(version, sha256, baseURL string) Option {
	return func(s *settings) { s.chefVersion, s.chefSHA256, s.chefURL = version, sha256, baseURL }
}

// WithCrossToolchain "none" builds without the cross-compilation
// toolchain; empty keeps the Dockerfile's pins.
func WithCrossToolchain(v string) Option { return func(s *settings) { s.crossToolchain = v } }

// WithBuilderArgs are more KEY=VALUE,... build arguments the Dockerfile
// declares (download mirrors).
func WithBuilderArgs(list string) Option { return func(s *settings) { s.builderArgs = list } }

// WithLabels are the OCI labels as given; an empty one comes from
// docker/metadata-action's labels, else from WithLabelDefaults.
func WithLabels(l Labels) Option { return func(s *settings) { s.labels = l } }

// WithLabelDefaults are the labels' last resort (the git revision, the
// GitHub repository).
func WithLabelDefaults(l Labels) Option { return func(s *settings) { s.fallback = l } }

// WithTagSources are what CI says about tags: docker/metadata-action's
// JSON output and the GitHub ref of the workflow run (imagetags.Input).
func WithTagSources(metadata, gitHubRef string) Option {
	return func(s *settings) { s.metadata, s.gitHubRef = metadata, gitHubRef }
}

func collect(opts []Option) settings {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	return s
}

// spec validates what Push and Build share.
func (s settings) spec(ps []platform.Platform, version string, labels map[string]string) (Spec, error) {
	sums, err := ParseChefSHA256(s.chefSHA256)
	if err != nil {
		return Spec{}, err
	}
	chef := CargoChef{Version: s.chefVersion, SHA256: sums, BaseURL: s.chefURL}
	noCross := false
	switch strings.ToLower(strings.TrimSpace(s.crossToolchain)) {
	case "":
	case "none", "off":
		noCross = true
	default:
		return Spec{}, option.Usagef("%s=%q: use none to build without the cross-compilation toolchain, or leave it empty for the Dockerfile's pins", option.Env(option.CrossToolchain), s.crossToolchain)
	}
	if _, err := chef.buildArgs(ps); err != nil {
		return Spec{}, err
	}
	l := Labels{
		Version:  firstNonEmpty(s.labels.Version, version),
		Revision: firstNonEmpty(s.labels.Revision, labels["org.opencontainers.image.revision"], s.fallback.Revision),
		Source:   firstNonEmpty(s.labels.Source, labels["org.opencontainers.image.source"], s.fallback.Source),
	}
	extra, err := builder.ParseBuilderArgs(s.builderArgs)
	if err != nil {
		return Spec{}, err
	}
	return Spec{Platforms: ps, MuslrustImage: s.muslrustImage, CargoChef: chef, NoCross: noCross, Labels: l, BuildArgs: extra}, nil
}

// PlanPush validates the options and resolves repository, tags, cache and
// labels for Push. Nothing is built or contacted except git. Its errors
// are usage errors (option.Usage).
func PlanPush(ctx context.Context, opts ...Option) (PushRequest, error) {
	s := collect(opts)
	ps, err := platform.ParseList(firstNonEmpty(s.platforms, platform.Default))
	if err != nil {
		return PushRequest{}, option.Usagef("%s: %w", option.Env(option.Platforms), err)
	}
	imageStr := strings.TrimSpace(s.image)
	var repo name.Repository
	var imageTag string
	if imageStr != "" {
		ref, err := name.ParseReference(imageStr)
		if err != nil {
			return PushRequest{}, option.Usagef("%s %q is not a valid reference (%w): use registry/org/muslrust-chef[:tag]", option.Env(option.PublishImage), imageStr, err)
		}
		if _, ok := ref.(name.Digest); ok {
			return PushRequest{}, option.Usagef("%s %q names a digest: give registry/org/muslrust-chef[:tag]; the digest is computed", option.Env(option.PublishImage), imageStr)
		}
		repo = ref.Context()
		// A tag written in the image name counts only if the user wrote one
		// (name.ParseReference adds :latest otherwise).
		if last := imageStr[strings.LastIndex(imageStr, "/")+1:]; strings.Contains(last, ":") {
			imageTag = ref.Identifier()
		}
	}
	res, err := imagetags.Resolve(ctx, imagetags.Input{Repo: repo, Explicit: s.tags, Metadata: s.metadata, GitHubRef: s.gitHubRef})
	if err != nil {
		return PushRequest{}, option.Usagef("%w", err)
	}
	if repo.RepositoryStr() == "" {
		if len(res.Refs) == 0 {
			return PushRequest{}, option.Usagef("no image to push: set %s (or %s) to registry/org/muslrust-chef", option.Env(option.PublishImage), option.Flag(option.PublishImage))
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
	spec, err := s.spec(ps, res.Version, res.Labels)
	if err != nil {
		return PushRequest{}, err
	}
	suffix := ""
	if len(ps) == 1 {
		suffix = "-" + ps[0].Arch
	}
	main := firstNonEmpty(s.mainBranch, "main")
	cache, err := buildcache.ParseRefs(s.cache, repo, firstNonEmpty(s.branch, main), main, suffix)
	if err != nil {
		return PushRequest{}, err
	}
	req := PushRequest{Spec: spec, Repo: repo, Tags: tags, PushByDigest: s.pushByDigest, Cache: cache}
	if s.pushByDigest && len(ps) != 1 {
		return PushRequest{}, option.Usagef("%s builds one platform per run, got %s: set %s to one platform per runner and merge with image:merge", option.Env(option.PushByDigest), platform.Join(ps), option.Env(option.Platforms))
	}
	if !s.pushByDigest && len(tags) == 0 {
		return PushRequest{}, option.Usagef("no tag for %s: run on a git tag %sX.Y.Z, set %s (e.g. edge), pass %s, or push by digest (%s=true)", repo.Name(), imagetags.GitTagPrefix, option.Env(option.Tags), option.Env(option.DockerMetadata), option.Env(option.PushByDigest))
	}
	return req, nil
}

// PlanBuild validates the options for Build on the given platform.
func PlanBuild(ctx context.Context, host platform.Platform, opts ...Option) (BuildRequest, error) {
	s := collect(opts)
	out, err := ParseOutput(s.output)
	if err != nil {
		return BuildRequest{}, option.Usagef("%s: %w", option.Env(option.BuilderOutput), err)
	}
	imageName := firstNonEmpty(strings.TrimSpace(s.image), "muslrust-chef:dev")
	if _, err := name.NewTag(imageName); err != nil {
		return BuildRequest{}, option.Usagef("%s %q is not a valid name[:tag] (%w)", option.Env(option.PublishImage), imageName, err)
	}
	version := ""
	if res, err := imagetags.Resolve(ctx, imagetags.Input{Metadata: s.metadata, GitHubRef: s.gitHubRef}); err == nil {
		version = res.Version
	}
	spec, err := s.spec([]platform.Platform{host}, version, nil)
	if err != nil {
		return BuildRequest{}, err
	}
	req := BuildRequest{Spec: spec, Name: imageName, Output: out}
	// A local build imports a cache only when told which (it never exports).
	if strings.TrimSpace(s.cache) != "" {
		cs, err := buildcache.ParseRefs(s.cache, name.Repository{}, "", "", "")
		if err != nil {
			return BuildRequest{}, err
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
// image:push, WithTags and WithTagSources) in the digests' repository.
func PlanMerge(ctx context.Context, digests []string, opts ...Option) (MergePlan, error) {
	s := collect(opts)
	if len(digests) == 0 {
		return MergePlan{}, option.Usagef("no digests to merge: set %s (or %s) to repo@sha256:...,repo@sha256:... from the per-platform image:push -bydigest runs", option.Env(option.Digests), option.Flag(option.Digests))
	}
	ds, err := publish.ParseDigests(digests)
	if err != nil {
		return MergePlan{}, option.Usagef("%w", err)
	}
	repo := ds[0].Context()
	res, err := imagetags.Resolve(ctx, imagetags.Input{Repo: repo, Explicit: s.tags, Metadata: s.metadata, GitHubRef: s.gitHubRef})
	if err != nil {
		return MergePlan{}, option.Usagef("%w", err)
	}
	for _, t := range res.Refs {
		if t.Context().Name() != repo.Name() {
			return MergePlan{}, option.Usagef("tag %s (from %s) is in repository %s, but the images are in %s: an index is pushed where its platform images are; tag within %s",
				t.Name(), res.From, t.Context().Name(), repo.Name(), repo.Name())
		}
	}
	return MergePlan{Digests: digests, Tags: res.Refs}, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
