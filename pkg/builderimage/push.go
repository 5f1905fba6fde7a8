package builderimage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Pushed is the outcome of Push.
type Pushed struct {
	// Digest of the pushed index (or of the one platform's image with
	// PushByDigest).
	Digest string
	// Ref is repo@digest: what to pull, or to hand to image:merge.
	Ref string
	// Tags are the tag references pushed (none with PushByDigest).
	Tags []string
	// Cache is the registry cache used.
	Cache buildcache.Refs
	// Result is BuildKit's answer (steps, cache hits).
	Result *buildkit.Result
}

// PushRequest is one image:push.
type PushRequest struct {
	Spec
	// Repo is the repository pushed to.
	Repo name.Repository
	// Tags are full tag references (required unless PushByDigest).
	Tags []name.Tag
	// PushByDigest pushes one untagged image per run (split builds).
	PushByDigest bool
	// Cache is imported and exported.
	Cache buildcache.Refs
}

// Push builds every platform of req and pushes them as one index (BuildKit
// pushes each platform's manifest before the index that names them).
func Push(ctx context.Context, b buildkit.Builder, req PushRequest) (*Pushed, error) {
	if len(req.Platforms) == 0 {
		return nil, errors.New("no platform to build: give linux/amd64 and/or linux/arm64")
	}
	if req.Repo.RepositoryStr() == "" {
		return nil, option.Usagef("no image repository to push to: set %s to registry/org/muslrust-chef", option.Env(option.PublishImage))
	}
	out := &buildkit.ImageOutput{Push: true}
	if req.PushByDigest {
		if len(req.Platforms) != 1 {
			return nil, fmt.Errorf("push by digest builds one platform per run (got %s): run one image:push per platform, then image:merge", platform.Join(req.Platforms))
		}
		out = &buildkit.ImageOutput{PushByDigest: true, Names: []string{req.Repo.Name()}}
	} else {
		if len(req.Tags) == 0 {
			return nil, option.Usagef("no tag to push %s with: run on a git tag %sX.Y.Z, set %s, pass %s, or push by digest (%s=true)", req.Repo.Name(), "muslrust-chef-v",
				option.Env(option.Tags), option.Env(option.DockerMetadata), option.Env(option.PushByDigest))
		}
		for _, t := range req.Tags {
			out.Names = append(out.Names, t.Name())
		}
	}
	r, err := prepare(ctx, req.Spec)
	if err != nil {
		return nil, err
	}
	defer r.cleanup()
	r.req.Image = out
	r.req.CacheFrom = req.Cache.From
	r.req.CacheTo = req.Cache.To
	res, err := b.Solve(ctx, r.req)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(res.Digest, "sha256:") {
		return nil, fmt.Errorf("BuildKit reported no pushed digest (exporter response %v): check the BuildKit version", res.ExporterResponse)
	}
	p := &Pushed{Digest: res.Digest, Ref: req.Repo.Digest(res.Digest).Name(), Cache: req.Cache, Result: res}
	if !req.PushByDigest {
		p.Tags = out.Names
	}
	return p, nil
}
