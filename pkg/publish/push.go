package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Publish implements Publisher: PushIndex to the tags' repository, the
// index named by its first tag in errors (what the user will look for).
func (r *Registry) Publish(ctx context.Context, idx v1.ImageIndex) (Result, error) {
	return r.pushIndex(ctx, idx, r.tags[0].Repository, displayName(r.tags[0]))
}

// Close implements Publisher.
func (r *Registry) Close() error { return nil }

// PushIndex pushes idx to repo: every platform manifest and the index by
// digest, then the records of WithReferrers, then each tag (none: by digest
// only), so a tag never points at a half-pushed index or at an image
// missing its records. The tags must be in repo. Errors name the
// repository.
func PushIndex(ctx context.Context, repo name.Repository, idx v1.ImageIndex, tags []name.Tag, opts ...RegistryOption) (Result, error) {
	return newRegistry(tags, opts).pushIndex(ctx, idx, repo, repo.Name())
}

func (r *Registry) pushIndex(ctx context.Context, idx v1.ImageIndex, repo name.Repository, what string) (Result, error) {
	d, err := idx.Digest()
	if err != nil {
		return Result{}, err
	}
	plan, err := planReferrers(idx, r.referrers)
	if err != nil {
		return Result{}, err
	}
	byDigest := repo.Digest(d.String())
	ctx, cancel := r.pushContext(ctx)
	defer cancel()
	// One pusher for the index, its records and its tags: the registry is
	// pinged and the token fetched once per push, not once more per tag.
	p, err := remote.NewPusher(r.remoteOptions(ctx)...)
	if err != nil {
		return Result{}, err
	}
	if err := p.Push(ctx, byDigest, idx); err != nil {
		return Result{}, r.pushError(ctx, repo.RegistryStr(), what, err)
	}
	// The records go before the tags: a failed attach leaves every tag on
	// the previous image, whose records are complete.
	refs, err := r.attachAll(ctx, p, repo, plan)
	if err != nil {
		return Result{}, err
	}
	for _, t := range r.tags {
		if err := p.Put(ctx, t, idx); err != nil {
			return Result{}, r.pushError(ctx, repo.RegistryStr(), t.Name(), err)
		}
	}
	return Result{Reference: byDigest.String(), Digest: d, Referrers: refs}, nil
}

// PushByDigest pushes the image for p out of idx, untagged, to repo: a
// split build's one platform, for Merge. What is pushed is the platform
// manifest of idx itself, so its digest is the one the same build gives
// inside a multi-platform index, and merging the platforms' pushes gives
// the index an emulated build pushes. The platform's records
// (WithReferrers) are attached after its manifest.
func PushByDigest(ctx context.Context, repo name.Repository, idx v1.ImageIndex, p platform.Platform, opts ...RegistryOption) (Result, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return Result{}, err
	}
	var have []string
	var d v1.Hash
	for _, m := range im.Manifests {
		if m.Platform == nil {
			continue
		}
		have = append(have, m.Platform.OS+"/"+m.Platform.Architecture)
		if m.Platform.OS == p.OS && m.Platform.Architecture == p.Arch {
			d = m.Digest
		}
	}
	if d == (v1.Hash{}) {
		return Result{}, fmt.Errorf("no %s image to push by digest: the index has %s", p, strings.Join(have, ", "))
	}
	img, err := idx.Image(d)
	if err != nil {
		return Result{}, err
	}
	r := newRegistry(nil, opts)
	plan, err := planReferrers(idx, r.referrers)
	if err != nil {
		return Result{}, err
	}
	var mine []subjectRecords
	for _, s := range plan {
		if s.subject.Digest == d {
			mine = append(mine, s)
		}
	}
	byDigest := repo.Digest(d.String())
	ctx, cancel := r.pushContext(ctx)
	defer cancel()
	pusher, err := remote.NewPusher(r.remoteOptions(ctx)...)
	if err != nil {
		return Result{}, err
	}
	if err := pusher.Push(ctx, byDigest, img); err != nil {
		return Result{}, r.pushError(ctx, repo.RegistryStr(), repo.Name(), err)
	}
	refs, err := r.attachAll(ctx, pusher, repo, mine)
	if err != nil {
		return Result{}, err
	}
	return Result{Reference: byDigest.String(), Digest: d, Referrers: refs}, nil
}

// pushError says what went wrong, naming the push deadline when it was
// ours that ended the push rather than the caller's context.
func (r *Registry) pushError(ctx context.Context, registry, what string, err error) error {
	if errors.Is(context.Cause(ctx), errPushDeadline) {
		return option.Errorf("pushing %s to registry %s did not finish within %s: the registry is too slow or stalled; check it, or raise %s", what, registry, r.pushTimeout, option.Env(option.PushTimeout))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("pushing %s: %w", what, ctx.Err())
	}
	return registryError(registry, what, err)
}

// registryError is the wording of a failed push: one line saying what is
// wrong and what to do.
func registryError(registry, what string, err error) error {
	p := Classify(err)
	switch p.Kind {
	case Canceled, Deadline:
		return fmt.Errorf("pushing %s: %w", what, err)
	case Timeout:
		return option.Errorf("registry %s stopped answering while pushing %s: no response to the %s (%s): check the registry's health, or raise %s for a slow one", registry, what, p.Request, p.Detail, option.Env(option.RegistryTimeout))
	case Denied:
		return fmt.Errorf("registry %s refused the credentials for %s (HTTP %d): run docker login %s (credentials come from the Docker config file)", registry, what, p.Status, registry)
	case Reset:
		return fmt.Errorf("registry %s reset the connection during the %s of %s on every try (%s): check the registry and any proxy in front of it (body size limits, idle timeouts)", registry, p.Request, what, p.Detail)
	case Closed:
		return fmt.Errorf("registry %s closed the connection during the %s of %s on every try (%s): check the registry and any proxy in front of it", registry, p.Request, what, p.Detail)
	case ServerError:
		return fmt.Errorf("registry %s answered HTTP %d to the %s of %s on every try (%s): check the registry's logs and storage; no tag was moved", registry, p.Status, p.Request, what, p.Detail)
	case Unreachable:
		return option.Errorf("registry %s is unreachable while pushing %s (%s): check the registry host in %s and that the registry is running", registry, what, oneline.Err(err), option.Env(option.Image))
	}
	return fmt.Errorf("pushing %s to %s failed: %s", what, registry, oneline.Err(err))
}
