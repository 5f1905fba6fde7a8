package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// PlatformManifest is one platform's manifest of an image.
type PlatformManifest struct {
	Platform v1.Platform
	Digest   name.Digest
}

// Record is a referrer's document found for one platform manifest.
type Record struct {
	PlatformManifest
	// ArtifactType is the type found (the first of those asked for that
	// has a referrer); empty when none has.
	ArtifactType string
	// Referrer is the artifact manifest's digest.
	Referrer v1.Hash
	// Others counts further referrers of the same type (rebuilt records);
	// the one with the lowest digest is read.
	Others int
	Data   []byte
}

// ReadRecords resolves ref (a tag or digest of an index or of a single
// manifest) and, for each platform manifest, reads the first referrer whose
// artifact type is in artifactTypes, tried in order. The referrers API is
// used when the registry has it, else the sha256-<digest> fallback tag.
// Platforms with no such referrer are returned with an empty ArtifactType.
// Errors are one line, in the words of a failed push.
func ReadRecords(ctx context.Context, ref string, artifactTypes []string, opts ...RegistryOption) ([]Record, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("%q is not an image reference: give repo[:tag] or repo@sha256:...", ref)
	}
	ctx, cancel, ropts, _ := session(ctx, opts...)
	defer cancel()
	reg := r.Context().RegistryStr()
	plats, err := platformManifests(r, ropts)
	if err != nil {
		return nil, readError(ctx, reg, r.String(), err)
	}
	var out []Record
	for _, p := range plats {
		rec := Record{PlatformManifest: p}
		for _, at := range artifactTypes {
			idx, err := remote.Referrers(p.Digest, append(ropts, remote.WithFilter("artifactType", at))...)
			if err != nil {
				return nil, readError(ctx, reg, "the referrers of "+p.Digest.String(), err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				return nil, readError(ctx, reg, "the referrers of "+p.Digest.String(), err)
			}
			// Registries that ignore the filter answer with every type;
			// the fallback index is filtered by go-containerregistry.
			var found []v1.Descriptor
			for _, d := range im.Manifests {
				if d.ArtifactType == at {
					found = append(found, d)
				}
			}
			if len(found) == 0 {
				continue
			}
			sort.Slice(found, func(i, j int) bool { return found[i].Digest.String() < found[j].Digest.String() })
			data, err := artifactData(p.Digest.Context().Digest(found[0].Digest.String()), ropts)
			if err != nil {
				return nil, readError(ctx, reg, at+" referrer "+found[0].Digest.String(), err)
			}
			rec.ArtifactType, rec.Referrer, rec.Others, rec.Data = at, found[0].Digest, len(found)-1, data
			break
		}
		out = append(out, rec)
	}
	return out, nil
}

// platformManifests lists an index's platform manifests (skipping
// attestation manifests, whose platform is unknown/unknown), or the single
// manifest ref names with the platform from its config.
func platformManifests(r name.Reference, ropts []remote.Option) ([]PlatformManifest, error) {
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, err
	}
	repo := r.Context()
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		var out []PlatformManifest
		for _, d := range im.Manifests {
			if !d.MediaType.IsImage() || d.Platform == nil || d.Platform.OS == "unknown" {
				continue
			}
			out = append(out, PlatformManifest{Platform: *d.Platform, Digest: repo.Digest(d.Digest.String())})
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("index %s lists no platform manifest", r)
		}
		return out, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	p := cf.Platform()
	if p == nil {
		p = &v1.Platform{}
	}
	return []PlatformManifest{{Platform: *p, Digest: repo.Digest(desc.Digest.String())}}, nil
}

// artifactData fetches the single layer of an artifact manifest.
func artifactData(d name.Digest, ropts []remote.Option) ([]byte, error) {
	desc, err := remote.Get(d, ropts...)
	if err != nil {
		return nil, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, fmt.Errorf("artifact %s is not an image manifest: %w", d.DigestStr(), err)
	}
	if len(m.Layers) != 1 {
		return nil, fmt.Errorf("artifact %s has %d layers, want the one holding the document", d.DigestStr(), len(m.Layers))
	}
	l, err := remote.Layer(d.Context().Digest(m.Layers[0].Digest.String()), ropts...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readError is the wording of a failed read: a missing image or an
// unreachable registry said in words that fit reading.
func readError(ctx context.Context, registry, what string, err error) error {
	switch p := Classify(err); {
	case errors.Is(context.Cause(ctx), errPushDeadline):
		return option.Errorf("reading %s from registry %s did not finish in time: the registry is too slow or stalled; check it, or raise %s", what, registry, option.Env(option.PushTimeout))
	case ctx.Err() != nil:
		return fmt.Errorf("reading %s: %w", what, ctx.Err())
	case p.Kind == NotFound:
		// The cause stays in the chain: a caller tells "no such image"
		// (a first push) from a failure with Classify.
		return &causeError{msg: fmt.Sprintf("%s not found in registry %s: check the repository and tag (HTTP 404)", what, registry), cause: err}
	case p.Kind == Timeout:
		return option.Errorf("registry %s stopped answering while reading %s: check the registry's health, or raise %s for a slow one", registry, what, option.Env(option.RegistryTimeout))
	case p.Kind == Unreachable:
		return fmt.Errorf("registry %s is unreachable while reading %s (%s): check the registry host in the image reference and that the registry is running", registry, what, oneline.Err(err))
	case p.Kind == Denied:
		return fmt.Errorf("registry %s refused the credentials for %s (HTTP %d): run docker login %s (credentials come from the Docker config file)", registry, what, p.Status, registry)
	}
	return fmt.Errorf("reading %s from %s failed: %s", what, registry, oneline.Err(err))
}

// causeError is a message of its own over the error that caused it, which
// stays reachable (errors.As, Classify) without being printed.
type causeError struct {
	msg   string
	cause error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.cause }
