package publish

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// Merge (image:merge) builds one multi-platform image index from
// per-platform images pushed by digest (split builds: one native runner per
// platform) and pushes it with PushIndex. It is generic: any images work,
// not only the builder base image.

// MergeResult is what Merge pushed.
type MergeResult struct {
	Digest    string   // of the index
	Ref       string   // repo@digest
	Tags      []string // tag references pushed
	Platforms []string // os/arch[/variant] in the index, in order
}

// ParseDigests splits a comma-separated list and checks each entry names a
// digest; it refuses duplicates and entries from different repositories.
func ParseDigests(list []string, opts ...name.Option) ([]name.Digest, error) {
	var out []name.Digest
	seen := map[string]bool{}
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "@") {
			return nil, fmt.Errorf("%q has no digest: give each platform image as repo@sha256:<digest> (the digest output of image:push -bydigest)", s)
		}
		d, err := name.NewDigest(s, opts...)
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid repo@sha256:<64 hex> reference (%w)", s, err)
		}
		if seen[d.DigestStr()] {
			return nil, fmt.Errorf("digest %s is given twice: give each platform's image once", d.DigestStr())
		}
		seen[d.DigestStr()] = true
		if len(out) > 0 && out[0].Context().Name() != d.Context().Name() {
			return nil, fmt.Errorf("images are in different repositories (%s and %s): push every platform to one repository and merge there", out[0].Context().Name(), d.Context().Name())
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, option.Usagef("no digests to merge: give the per-platform images as repo@sha256:...,repo@sha256:... (%s)", option.Env(option.Digests))
	}
	return out, nil
}

// Merge checks that every image in digests (repo@sha256:..., all in one
// repository; an entry may itself be an index, whose platform manifests
// are taken over) exists and reads its platform from its config, builds
// the index, then pushes it by digest and only then each tag (full tag
// references in the same repository; none: by digest only): nothing is
// pushed unless every child is there, and no tag ever points at an index
// with a missing child. opts are a rust:* push's: credentials, transport,
// deadlines and retries.
func Merge(ctx context.Context, digests []string, tags []name.Tag, opts ...RegistryOption) (*MergeResult, error) {
	ds, err := ParseDigests(digests)
	if err != nil {
		return nil, err
	}
	repo := ds[0].Context()
	for _, t := range tags {
		if t.Context().Name() != repo.Name() {
			return nil, fmt.Errorf("tag %s is in repository %s, but the images are in %s: an index can only be pushed where its platform images are; tag within %s",
				t.Name(), t.Context().Name(), repo.Name(), repo.Name())
		}
	}
	// The same deadlines as a rust:* push: a registry that stops
	// answering fails the merge instead of hanging the job.
	ctx, cancel, ropts, _ := session(ctx, opts...)
	defer cancel()

	var adds []mutate.IndexAddendum
	byPlatform := map[string]string{}
	add := func(desc v1.Descriptor, img v1.Image, from string) error {
		key := platformString(desc.Platform)
		if prev, dup := byPlatform[key]; dup {
			return fmt.Errorf("two images for %s (%s and %s): give one image per platform", key, prev, from)
		}
		byPlatform[key] = from
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: desc})
		return nil
	}
	for _, d := range ds {
		desc, err := remote.Get(d, ropts...)
		if err != nil {
			return nil, childError(repo, d, err)
		}
		switch {
		case desc.MediaType.IsIndex():
			idx, err := desc.ImageIndex()
			if err != nil {
				return nil, childError(repo, d, err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				return nil, childError(repo, d, err)
			}
			for _, m := range im.Manifests {
				// Attestation manifests (unknown/unknown) describe a
				// specific index; they do not carry over.
				if m.Platform == nil || m.Platform.OS == "unknown" || !m.MediaType.IsImage() {
					continue
				}
				img, err := idx.Image(m.Digest)
				if err != nil {
					return nil, childError(repo, d, err)
				}
				if err := add(v1.Descriptor{MediaType: m.MediaType, Platform: m.Platform, Annotations: m.Annotations}, img, d.String()); err != nil {
					return nil, err
				}
			}
		case desc.MediaType.IsImage():
			img, err := desc.Image()
			if err != nil {
				return nil, childError(repo, d, err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				return nil, childError(repo, d, err)
			}
			if cf.OS == "" || cf.Architecture == "" {
				return nil, fmt.Errorf("%s has no os/architecture in its config: it cannot be placed in a multi-platform index", d)
			}
			p := cf.Platform()
			if err := add(v1.Descriptor{MediaType: desc.MediaType, Platform: p}, img, d.String()); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%s is a %s, not an image or index", d, desc.MediaType)
		}
	}
	sort.SliceStable(adds, func(i, j int) bool {
		return platformString(adds[i].Descriptor.Platform) < platformString(adds[j].Descriptor.Platform)
	})

	// Docker-media-type children go in a Docker manifest list, OCI ones in
	// an OCI index, so clients that check consistency accept it.
	mt := types.OCIImageIndex
	allDocker := true
	for _, a := range adds {
		if a.Descriptor.MediaType != types.DockerManifestSchema2 {
			allDocker = false
		}
	}
	if allDocker {
		mt = types.DockerManifestList
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, mt), adds...)
	// Every child was just fetched from repo, so the push finds them there
	// and uploads only the index manifest.
	pushed, err := PushIndex(ctx, repo, idx, tags, opts...)
	if err != nil {
		return nil, err
	}
	res := &MergeResult{Digest: pushed.Digest.String(), Ref: repo.Digest(pushed.Digest.String()).Name()}
	for _, t := range tags {
		res.Tags = append(res.Tags, t.Name())
	}
	for _, a := range adds {
		res.Platforms = append(res.Platforms, platformString(a.Descriptor.Platform))
	}
	return res, nil
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return "unknown"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// childError explains a platform image that cannot be read; nothing has
// been pushed at that point.
func childError(repo name.Repository, d name.Digest, err error) error {
	switch p := Classify(err); {
	case p.Kind == Canceled, p.Kind == Timeout, p.Kind == Deadline:
		return fmt.Errorf("reading %s: %w", d, err)
	case p.Kind == NotFound:
		return fmt.Errorf("%s does not exist in %s: push every platform first (image:push -bydigest) and pass the digests it printed; nothing was pushed", d.DigestStr(), repo.Name())
	case p.Kind == Denied:
		return fmt.Errorf("registry %s refused the credentials for %s (HTTP %d): run docker login %s (credentials come from the Docker config file); nothing was pushed", repo.RegistryStr(), repo.Name(), p.Status, repo.RegistryStr())
	case p.Socket:
		return fmt.Errorf("registry %s is unreachable (%s): check the registry host in the digests and that it is running; nothing was pushed", repo.RegistryStr(), oneline.Err(err))
	}
	return fmt.Errorf("reading %s failed: %s; nothing was pushed", d, oneline.Err(err))
}
