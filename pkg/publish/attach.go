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
