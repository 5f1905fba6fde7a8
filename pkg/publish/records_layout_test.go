package publish

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

func assertNoPath(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil || !os.IsNotExist(err) {
		t.Errorf("%s exists (%v): a refused publish wrote it", path, err)
	}
}

// The same image and records to Debian's docker-registry (no referrers API:
// the fallback tag) and to oci:DIR: the layout stores the very artifact
// manifests the registry holds (same digests, same bytes), listed in
// index.json with their artifact type and no ref.name, after the index's
// own entry. Writing the layout again gives the same index.json.
func TestLayoutHoldsTheRegistrysRecords(t *testing.T) {
	addr := testinfra.Registry(t)
	ctx := context.Background()
	idx := twoPlatformIndex(t)
	recs := recordsFor(t, idx)
	tg := tags(t, fmt.Sprintf("%s/records/layout-%d:v1", addr, time.Now().UnixNano()))
	reg, err := New(Output{Kind: "registry"}, tg, platform.Platform{}, fastRetry, WithReferrers(recs))
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := reg.Publish(ctx, idx)
	if err != nil {
		t.Fatal(err)
	}
	repo := tg[0].Repository
	assertListed(t, repo, pushed.Referrers)
	for subject, descs := range pushed.Referrers {
		fb, err := remote.Index(repo.Tag(fallbackTagOf(subject)))
		if err != nil {
			t.Fatalf("fallback tag of %s: %v", subject, err)
		}
		if fm, _ := fb.IndexManifest(); len(fm.Manifests) != len(descs) {
			t.Errorf("fallback index of %s lists %d referrers, want %d", subject, len(fm.Manifests), len(descs))
		}
	}

	dir := filepath.Join(t.TempDir(), "layout")
	out := Output{Kind: "oci", Path: dir}
	lay, err := New(out, tg, platform.Platform{}, WithReferrers(recs))
	if err != nil {
		t.Fatal(err)
	}
	written, err := lay.Publish(ctx, idx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	outer, _ := p.ImageIndex()
	om, _ := outer.IndexManifest()
	d, _ := idx.Digest()
	if len(om.Manifests) != 5 || om.Manifests[0].Digest != d {
		t.Fatalf("index.json lists %d manifests (first %s), want the index %s then 4 records", len(om.Manifests), om.Manifests[0].Digest, d)
	}
	listed := map[v1.Hash]v1.Descriptor{}
	for _, m := range om.Manifests[1:] {
		listed[m.Digest] = m
	}
	for subject, descs := range pushed.Referrers {
		for i, want := range descs {
			if got := written.Referrers[subject][i].Digest; got != want.Digest {
				t.Errorf("%s: layout referrer %s, registry %s", subject, got, want.Digest)
			}
			m, ok := listed[want.Digest]
			if !ok {
				t.Errorf("%s: record %s not in index.json", subject, want.Digest)
				continue
			}
			if m.ArtifactType != want.ArtifactType || m.MediaType != types.OCIManifestSchema1 || m.Annotations["org.opencontainers.image.ref.name"] != "" {
				t.Errorf("index.json entry %+v: want artifactType %s, an OCI manifest, no ref.name", m, want.ArtifactType)
			}
			raw, err := p.Bytes(want.Digest)
			if err != nil {
				t.Fatal(err)
			}
			rd, err := remote.Get(repo.Digest(want.Digest.String()))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, rd.Manifest) {
				t.Errorf("record %s: the layout's manifest differs from the registry's", want.Digest)
			}
			data, err := artifactLayerFromLayout(p, raw)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, recs[subject][i].Data) {
				t.Errorf("record %s holds %q, want %q", want.Digest, data, recs[subject][i].Data)
			}
		}
	}
	if _, err := lay.Publish(ctx, idx); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if !bytes.Equal(first, again) {
		t.Errorf("index.json changed when the same image and records were written again:\n%s\n%s", first, again)
	}
}

// artifactLayerFromLayout reads the document an artifact manifest holds.
func artifactLayerFromLayout(p layout.Path, raw []byte) ([]byte, error) {
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if len(m.Layers) != 1 || m.Subject == nil {
		return nil, fmt.Errorf("artifact manifest with %d layers, subject %v", len(m.Layers), m.Subject)
	}
	if _, err := p.Bytes(m.Config.Digest); err != nil {
		return nil, fmt.Errorf("config blob: %w", err)
	}
	return p.Bytes(m.Layers[0].Digest)
}
