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
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// Artifact is one record (an SBOM, a provenance statement) to attach to a
// platform manifest as an OCI referrer: one manifest whose only layer holds
// Data.
type Artifact struct {
	// ArtifactType says what the record is (e.g. sbom.MediaTypeCycloneDX);
	// it is what readers filter the referrers list by.
	ArtifactType string
	// MediaType of Data; default ArtifactType.
	MediaType string
	Data      []byte
	// Title names the layer (org.opencontainers.image.title), e.g. the
	// document's file name, for tools that save layers as files.
	Title string
	// Annotations of the artifact manifest; they are copied into the
	// referrers list, so keep them small and free of timestamps.
	Annotations map[string]string
}

// emptyJSON is the OCI empty descriptor's content ("{}").
var emptyJSON = []byte("{}")

// artifactManifest is the OCI 1.1 image manifest of an artifact: the
// artifactType field for registries with the referrers API, and the same
// type as config media type, which is what registries and clients that
// predate artifactType (go-containerregistry's own registry among them)
// report instead. Nothing in it depends on the clock, so attaching the same
// record to the same subject always gives the same digest.
type artifactManifest struct {
	SchemaVersion int64             `json:"schemaVersion"`
	MediaType     types.MediaType   `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        v1.Descriptor     `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Subject       *v1.Descriptor    `json:"subject"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type rawManifest struct {
	raw []byte
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// Attach attaches each artifact to the manifest subject (a platform
// manifest, by digest) in its repository: the blobs, then the artifact
// manifest by digest with subject set. A registry with the referrers API
// lists it from then on; for one without, go-containerregistry adds it to
// the index tagged sha256-<subject digest> (the referrers tag schema).
// Re-attaching the same record is a no-op: same manifest digest, and an
// entry already in the fallback index is not added again. It uses the
// credentials, retries and deadlines a Registry built with opts pushes
// with, and fails with the same one-line errors. It returns the
// descriptors of the artifact manifests.
func Attach(ctx context.Context, subject name.Digest, artifacts []Artifact, opts ...RegistryOption) ([]v1.Descriptor, error) {
	ctx, cancel, ropts, fail := session(ctx, opts...)
	defer cancel()
	reg := subject.Context().RegistryStr()
	sub, err := remote.Head(subject, ropts...)
	if err != nil {
		return nil, readError(ctx, reg, subject.String(), err)
	}
	subDesc := v1.Descriptor{MediaType: sub.MediaType, Digest: sub.Digest, Size: sub.Size}
	cfg := static.NewLayer(emptyJSON, types.OCIEmptyJSON)
	cfgDigest, _ := cfg.Digest()
	var out []v1.Descriptor
	for _, a := range artifacts {
		if a.ArtifactType == "" || len(a.Data) == 0 {
			return nil, fmt.Errorf("attaching to %s: an artifact needs an artifact type and content", subject)
		}
		mt := a.MediaType
		if mt == "" {
			mt = a.ArtifactType
		}
		doc := static.NewLayer(a.Data, types.MediaType(mt))
		docDigest, _ := doc.Digest()
		layer := v1.Descriptor{MediaType: types.MediaType(mt), Digest: docDigest, Size: int64(len(a.Data))}
		if a.Title != "" {
			layer.Annotations = map[string]string{"org.opencontainers.image.title": a.Title}
		}
		m := artifactManifest{
			SchemaVersion: 2,
			MediaType:     types.OCIManifestSchema1,
			ArtifactType:  a.ArtifactType,
			Config:        v1.Descriptor{MediaType: types.MediaType(a.ArtifactType), Digest: cfgDigest, Size: int64(len(emptyJSON))},
			Layers:        []v1.Descriptor{layer},
			Subject:       &subDesc,
			Annotations:   a.Annotations,
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		what := a.ArtifactType + " referrer of " + subject.String()
		for _, l := range []v1.Layer{cfg, doc} {
			if err := remote.WriteLayer(subject.Context(), l, ropts...); err != nil {
				return nil, fail(reg, what, err)
			}
		}
		h, size, err := v1.SHA256(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		if err := remote.Put(subject.Context().Digest(h.String()), rawManifest{raw}, ropts...); err != nil {
			return nil, fail(reg, what, err)
		}
		out = append(out, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: size, ArtifactType: a.ArtifactType, Annotations: a.Annotations})
	}
	return out, nil
}

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
		return fmt.Errorf("%s not found in registry %s: check the repository and tag (HTTP 404)", what, registry)
	case p.Kind == Timeout:
		return option.Errorf("registry %s stopped answering while reading %s: check the registry's health, or raise %s for a slow one", registry, what, option.Env(option.RegistryTimeout))
	case p.Kind == Unreachable:
		return fmt.Errorf("registry %s is unreachable while reading %s (%s): check the registry host in the image reference and that the registry is running", registry, what, oneline.Err(err))
	case p.Kind == Denied:
		return fmt.Errorf("registry %s refused the credentials for %s (HTTP %d): run docker login %s (credentials come from the Docker config file)", registry, what, p.Status, registry)
	}
	return fmt.Errorf("reading %s from %s failed: %s", what, registry, oneline.Err(err))
}
