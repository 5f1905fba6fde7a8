package pipeline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
)

// referrerSet lists a Result's records as "subject artifactType digest"
// lines, sorted, and fails unless each platform manifest of the result has
// one record of every type.
func referrerSet(t *testing.T, what string, refs map[v1.Hash][]v1.Descriptor, manifests int) []string {
	t.Helper()
	if len(refs) != manifests {
		t.Fatalf("%s: records on %d manifests, want %d: %v", what, len(refs), manifests, refs)
	}
	var out []string
	for subject, ds := range refs {
		var types []string
		for _, d := range ds {
			types = append(types, d.ArtifactType)
			out = append(out, subject.String()+" "+d.ArtifactType+" "+d.Digest.String())
		}
		sort.Strings(types)
		want := append([]string(nil), recordTypes...)
		sort.Strings(want)
		if !slices.Equal(types, want) {
			t.Errorf("%s: %s has records %v, want one of each of %v", what, subject, types, want)
		}
	}
	sort.Strings(out)
	return out
}

// layoutReferrers checks that the OCI layout at dir lists every record of
// refs in its index.json, with its artifact type, and holds its blobs.
func layoutReferrers(t *testing.T, dir string, refs map[v1.Hash][]v1.Descriptor) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatalf("%s/index.json: %v", dir, err)
	}
	listed := map[v1.Hash]string{}
	for _, d := range idx.Manifests {
		listed[d.Digest] = d.ArtifactType
	}
	for _, ds := range refs {
		for _, d := range ds {
			if at, ok := listed[d.Digest]; !ok || at != d.ArtifactType {
				t.Errorf("%s/index.json lists %s as %q, want it with artifact type %s", dir, d.Digest, at, d.ArtifactType)
			}
			if _, err := os.Stat(filepath.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex)); err != nil {
				t.Errorf("the layout lacks the record manifest %s: %v", d.Digest, err)
			}
		}
	}
}

// Three oci:DIR builds of the held-out workspace for linux/amd64 with the
// same inputs: after a warm-up (which may cook), the next two reuse the
// cook step (and everything else) and give byte-identical SBOMs and
// provenance, in dist and as the same record manifests in their layouts;
// the warm-up's SBOMs are the same too (only the provenance says whether
// cook was reused).
func TestRecordsReproducible(t *testing.T) {
	e := newDefaultEnv(t)
	ws := fixtures.CopyTree(t, testdataHeldout)
	ctx := context.Background()
	s := e.settings(ws, "linux/amd64", e.image("heldout-repro"))
	s.Bin = str("heldout")
	dist := filepath.Join(ws, "dist")

	type run struct {
		docs docSet
		refs []string
	}
	one := func(name string) run {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "oci-"+name)
		s.Output = str("oci:" + dir)
		r, err := build(ctx, s, e.runtime(""))
		if err != nil {
			t.Fatalf("build %s: %v", name, err)
		}
		layoutReferrers(t, dir, r.Published.Referrers)
		docs := distRecords(t, dist, amd64(), "heldout")
		prov := parseProvenance(t, "build "+name, docs.Provenance)
		if v, ok := r.StageRun("cook", "linux/amd64"); !ok || v.Cached != prov.Cook.Reused {
			t.Errorf("build %s: cook step found %t cached %t, provenance says reused %t", name, ok, v.Cached, prov.Cook.Reused)
		}
		if name != "A" && !prov.Cook.Reused {
			t.Errorf("build %s after the warm-up: cook not reused", name)
		}
		return run{docs: docs, refs: referrerSet(t, "build "+name, r.Published.Referrers, 1)}
	}
	a, b, c := one("A"), one("B"), one("C")
	sameRecords(t, "builds B and C", b.docs, c.docs)
	if !slices.Equal(b.refs, c.refs) {
		t.Errorf("builds B and C stored other record manifests:\n%s\n%s", strings.Join(b.refs, "\n"), strings.Join(c.refs, "\n"))
	}
	sameRecords(t, "builds A and B (SBOMs)", docSet{CycloneDX: a.docs.CycloneDX, SPDX: a.docs.SPDX}, docSet{CycloneDX: b.docs.CycloneDX, SPDX: b.docs.SPDX})
}
