package buildcache

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// LocalPrefix selects BuildKit's local cache exporter in the cache
// option: local:<dir>.
const LocalPrefix = "local:"

// Input is what Resolve needs of a rust:cook or rust:build.
type Input struct {
	// Cache is the cache option as configured.
	Cache string
	// Output is the configured output, for messages; Registry says whether
	// it is a registry.
	Output   string
	Registry bool
	// Image is the image name; MainBranch the branch whose cache every
	// branch imports.
	Image, MainBranch string
	// Suffix separates per-platform caches (split builds).
	Suffix string
	// GitHubHeadRef and GitHubRef are GitHub Actions' GITHUB_HEAD_REF and
	// GITHUB_REF, for the branch (Branch); empty outside Actions.
	GitHubHeadRef, GitHubRef string
	// Names spells the options in why (pkg/config's KnobName for the
	// targets); nil keeps the library's wording (option.Ref.String).
	Names func(option.Ref) string
}

// Resolve reads the cache option like image:push does: refs (the first
// exported), off, local:<dir>, or empty for <image repo>:buildcache-<branch>
// plus the main branch's; each has its cook part (Parse): <ref>-cook, or
// <dir>/cook beside <dir>/rest. A ref is derived only when the image goes to a
// registry: with an OCI layout, a tarball or Docker there may be no
// registry at all (an image named "app" would become a Docker Hub ref).
// Split builds get a per-platform suffix so that the platforms' exports do
// not overwrite each other. why says why there is no cache.
func Resolve(ctx context.Context, in Input) (cs Spec, localDir, why string, err error) {
	if dir, ok := strings.CutPrefix(strings.TrimSpace(in.Cache), LocalPrefix); ok {
		if dir = strings.TrimSpace(dir); dir == "" {
			return cs, "", "", option.Usagef("%s=local: needs a directory: local:DIR", option.Env(option.Cache))
		}
		abs, err := filepath.Abs(dir)
		cs = Spec{Cook: Refs{Dir: filepath.Join(abs, "cook"), Mode: ModeMax}, Rest: Refs{Dir: filepath.Join(abs, "rest"), Mode: ModeMin}}
		return cs, abs, "", err
	}
	names := in.Names
	if names == nil {
		names = option.Ref.String
	}
	cache := names(option.Env(option.Cache))
	var repo name.Repository
	why = cache + "=" + in.Cache
	if strings.TrimSpace(in.Cache) == "" {
		switch {
		case !in.Registry:
			why = "the output is " + in.Output + ", not a registry; set " + cache + " to registry/repo:tag or local:DIR for one"
		case in.Image == "":
			why = "no " + names(option.Env(option.Image)) + " or " + cache
		default:
			if ref, err := name.ParseReference(in.Image); err == nil {
				repo = ref.Context()
			}
		}
	}
	cs, err = Parse(in.Cache, repo, Branch(ctx, in.MainBranch, in.GitHubHeadRef, in.GitHubRef), in.MainBranch, in.Suffix)
	return cs, "", why, err
}
