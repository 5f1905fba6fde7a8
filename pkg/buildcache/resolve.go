package buildcache

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// LocalPrefix selects BuildKit's local cache exporter in
// MUSLRUST_CHEF_CACHE: local:<dir>.
const LocalPrefix = "local:"

// Input is what Resolve needs of a rust:cook or rust:build.
type Input struct {
	// Cache is MUSLRUST_CHEF_CACHE as configured.
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
}

// Resolve reads MUSLRUST_CHEF_CACHE like image:push does: refs (the first
// exported), off, local:<dir>, or empty for <image repo>:buildcache-<branch>
// plus the main branch's. A ref is derived only when the image goes to a
// registry: with an OCI layout, a tarball or Docker there may be no
// registry at all (an image named "app" would become a Docker Hub ref).
// Split builds get a per-platform suffix so that the platforms' exports do
// not overwrite each other. why says why there is no cache.
func Resolve(ctx context.Context, in Input) (cs Spec, localDir, why string, err error) {
	if dir, ok := strings.CutPrefix(strings.TrimSpace(in.Cache), LocalPrefix); ok {
		if dir = strings.TrimSpace(dir); dir == "" {
			return cs, "", "", errors.New("MUSLRUST_CHEF_CACHE=local: needs a directory: local:DIR")
		}
		abs, err := filepath.Abs(dir)
		return cs, abs, "", err
	}
	var repo name.Repository
	why = "MUSLRUST_CHEF_CACHE=" + in.Cache
	if strings.TrimSpace(in.Cache) == "" {
		switch {
		case !in.Registry:
			why = "the output is " + in.Output + ", not a registry; set MUSLRUST_CHEF_CACHE to registry/repo:tag or local:DIR for one"
		case in.Image == "":
			why = "no MUSLRUST_CHEF_IMAGE or MUSLRUST_CHEF_CACHE"
		default:
			if ref, err := name.ParseReference(in.Image); err == nil {
				repo = ref.Context()
			}
		}
	}
	cs, err = Parse(in.Cache, repo, Branch(ctx, in.MainBranch), in.MainBranch, in.Suffix)
	return cs, "", why, err
}
