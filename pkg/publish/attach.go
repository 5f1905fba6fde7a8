package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
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

// artifactJSON is the OCI 1.1 image manifest of an artifact: the
// artifactType field for registries with the referrers API, and the same
// type as config media type, which is what registries and clients that
// predate artifactType (go-containerregistry's own registry among them)
// report instead. Nothing in it depends on the clock, so attaching the same
// record to the same subject always gives the same digest.
type artifactJSON struct {
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

// builtArtifact is one artifact ready to write: its blobs (the empty
// config, the document) and its manifest, which the registry and the OCI
// layout store byte for byte the same.
type builtArtifact struct {
	blobs []v1.Layer
	raw   []byte
	// desc is the artifact manifest's descriptor as a referrers list
	// holds it: artifactType and annotations set.
	desc v1.Descriptor
}

// artifactManifest builds the manifest of a attached to subject.
func artifactManifest(a Artifact, subject v1.Descriptor) (builtArtifact, error) {
	if a.ArtifactType == "" || len(a.Data) == 0 {
		return builtArtifact{}, fmt.Errorf("attaching to %s: an artifact needs an artifact type and content", subject.Digest)
	}
	cfg := static.NewLayer(emptyJSON, types.OCIEmptyJSON)
	cfgDigest, _ := cfg.Digest()
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
	sub := v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	raw, err := json.Marshal(artifactJSON{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  a.ArtifactType,
		Config:        v1.Descriptor{MediaType: types.MediaType(a.ArtifactType), Digest: cfgDigest, Size: int64(len(emptyJSON))},
		Layers:        []v1.Descriptor{layer},
		Subject:       &sub,
		Annotations:   a.Annotations,
	})
	if err != nil {
		return builtArtifact{}, err
	}
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return builtArtifact{}, err
	}
	return builtArtifact{
		blobs: []v1.Layer{cfg, doc},
		raw:   raw,
		desc:  v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: size, ArtifactType: a.ArtifactType, Annotations: a.Annotations},
	}, nil
}

// buildArtifacts builds every artifact of subject, so that a bad one fails
// before anything is written.
func buildArtifacts(subject v1.Descriptor, arts []Artifact) ([]builtArtifact, error) {
	out := make([]builtArtifact, 0, len(arts))
	for _, a := range arts {
		b, err := artifactManifest(a, subject)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

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
	r := newRegistry(nil, opts)
	ctx, cancel := r.pushContext(ctx)
	defer cancel()
	ropts := r.remoteOptions(ctx)
	sub, err := remote.Head(subject, ropts...)
	if err != nil {
		return nil, readError(ctx, subject.Context().RegistryStr(), subject.String(), err)
	}
	built, err := buildArtifacts(*sub, artifacts)
	if err != nil {
		return nil, err
	}
	p, err := remote.NewPusher(ropts...)
	if err != nil {
		return nil, err
	}
	return r.attach(ctx, p, subject, built)
}

// attach writes built, the artifacts of subject, through p: each one's
// blobs, then its manifest by digest. The manifest is always PUT, even when
// the registry has it already, because the PUT is what makes
// go-containerregistry add it to the fallback index of a registry without
// the referrers API (a re-run repairs an entry a concurrent run dropped).
func (r *Registry) attach(ctx context.Context, p *remote.Pusher, subject name.Digest, built []builtArtifact) ([]v1.Descriptor, error) {
	repo := subject.Context()
	var out []v1.Descriptor
	for _, b := range built {
		what := b.desc.ArtifactType + " referrer of " + subject.String()
		for _, l := range b.blobs {
			if err := p.Upload(ctx, repo, l); err != nil {
				return nil, r.pushError(ctx, repo.RegistryStr(), what, err)
			}
		}
		if err := p.Put(ctx, repo.Digest(b.desc.Digest.String()), rawManifest{b.raw}); err != nil {
			return nil, r.pushError(ctx, repo.RegistryStr(), what, err)
		}
		out = append(out, b.desc)
	}
	return out, nil
}
