package pipeline

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/provenance"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/sbom"
)

// testdataHeldout is the held-out workspace of the record tests (see its
// Cargo.toml); testdataHeldoutRegex overlays it with helper depending on
// regex and the matching Cargo.lock.
const (
	testdataHeldout      = "../../testdata/heldout"
	testdataHeldoutRegex = "../../testdata/heldout-regex"
)

// recordTypes are the artifact types every platform manifest carries.
var recordTypes = []string{sbom.MediaTypeCycloneDX, sbom.MediaTypeSPDX, provenance.MediaType}

// rawFiles are what the build step leaves in dist/<p>/.muslrust-chef/: cargo's
// own outputs the records are made from.
var rawFiles = []string{"metadata.json", "tree.txt", "rustc.txt", "Cargo.lock"}

// docSet is one platform's three record documents.
type docSet struct {
	CycloneDX, SPDX, Provenance []byte
}

// publishedRecords reads the records r pushed, by platform ("linux/amd64"):
// every platform manifest of manifests (platform -> digest) carries one
// record of each type in r.Published.Referrers, the registry lists each
// among the manifest's referrers (earlier runs of a test may have attached
// others to the same deterministic manifest), and ReadRecords, the reader
// rust:sbom uses, finds each type. The documents are read from the
// registry.
func publishedRecords(t *testing.T, r *Result, manifests map[string]v1.Hash) map[string]docSet {
	t.Helper()
	repo := mustRef(t, r.Published.Reference).Context()
	out := map[string]docSet{}
	for plat, d := range manifests {
		listed := registryReferrers(t, repo.Digest(d.String()))
		var rec docSet
		byType := map[string]int{}
		for _, desc := range r.Published.Referrers[d] {
			byType[desc.ArtifactType]++
			if !slices.Contains(listed, desc.ArtifactType+" "+desc.Digest.String()) {
				t.Errorf("%s: the registry does not list the %s record %s among the referrers of %s: %v", plat, desc.ArtifactType, desc.Digest, d, listed)
			}
			data := artifactData(t, repo.Digest(desc.Digest.String()))
			switch desc.ArtifactType {
			case sbom.MediaTypeCycloneDX:
				rec.CycloneDX = data
			case sbom.MediaTypeSPDX:
				rec.SPDX = data
			case provenance.MediaType:
				rec.Provenance = data
			}
		}
		for _, at := range recordTypes {
			if byType[at] != 1 {
				t.Errorf("%s: %d %s records pushed for %s, want 1", plat, byType[at], at, d)
			}
		}
		out[plat] = rec
	}
	for _, at := range recordTypes {
		recs, err := publish.ReadRecords(context.Background(), r.Published.Reference, []string{at})
		if err != nil {
			t.Fatalf("reading the %s records of %s: %v", at, r.Published.Reference, err)
		}
		for _, rec := range recs {
			if rec.ArtifactType != at || len(rec.Data) == 0 {
				t.Errorf("ReadRecords finds no %s record on %s (%s)", at, rec.Digest, rec.Platform)
			}
		}
	}
	return out
}

// artifactData is the one layer of a record's artifact manifest.
func artifactData(t *testing.T, ref name.Digest) []byte {
	t.Helper()
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("record %s: %v", ref, err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("record %s: %d layers, %v; want one", ref, len(layers), err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// registryReferrers lists every referrer of a manifest (the referrers API
// or the fallback tag) as "artifactType digest".
func registryReferrers(t *testing.T, subject name.Digest) []string {
	t.Helper()
	idx, err := remote.Referrers(subject)
	if err != nil {
		t.Fatalf("referrers of %s: %v", subject, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range im.Manifests {
		out = append(out, d.ArtifactType+" "+d.Digest.String())
	}
	return out
}

// distRecords reads the three documents written beside p's binary and
// checks cargo's raw outputs are in the dot directory next to them.
func distRecords(t *testing.T, dist string, p platform.Platform, bin string) docSet {
	t.Helper()
	dir := filepath.Join(dist, p.DistDir())
	cdx, spdx := sbom.FileNames(bin)
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: the build did not write its record: %v", p, err)
		}
		return b
	}
	r := docSet{CycloneDX: read(cdx), SPDX: read(spdx), Provenance: read(provenance.FileName(bin))}
	for _, f := range rawFiles {
		if st, err := os.Stat(filepath.Join(dir, ".muslrust-chef", f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: cargo's output %s is missing or empty in %s: %v", p, f, filepath.Join(dir, ".muslrust-chef"), err)
		}
	}
	return r
}

// sameRecords fails unless a and b are byte for byte the same documents.
func sameRecords(t *testing.T, what string, a, b docSet) {
	t.Helper()
	for _, c := range []struct {
		name string
		a, b []byte
	}{{"CycloneDX", a.CycloneDX, b.CycloneDX}, {"SPDX", a.SPDX, b.SPDX}, {"provenance", a.Provenance, b.Provenance}} {
		if !bytes.Equal(c.a, c.b) {
			t.Errorf("%s: the %s documents differ (%d and %d bytes)", what, c.name, len(c.a), len(c.b))
		}
	}
}

// parseProvenance reads a provenance statement back.
func parseProvenance(t *testing.T, what string, doc []byte) *provenance.Record {
	t.Helper()
	rec, err := provenance.Parse(doc)
	if err != nil {
		t.Fatalf("%s: the provenance does not parse: %v", what, err)
	}
	return rec
}

// linked reads a CycloneDX SBOM and returns it with its linked crates by
// name, failing when a name appears twice.
func linked(t *testing.T, what string, doc []byte) (*sbom.SBOM, map[string]sbom.Crate) {
	t.Helper()
	s, err := sbom.ReadCycloneDX(doc)
	if err != nil {
		t.Fatalf("%s: the CycloneDX SBOM does not read: %v", what, err)
	}
	by := map[string]sbom.Crate{}
	for _, c := range s.Crates {
		if _, dup := by[c.Name]; dup {
			t.Errorf("%s: %s listed twice", what, c.Name)
		}
		by[c.Name] = c
	}
	return s, by
}

func names(cs []sbom.Crate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}

// why is one "why did cook run" block of the build log.
type why struct {
	// Platforms as the heading names them ("linux/amd64", or every
	// platform of a cross build, comma-separated); From is the record
	// compared with, empty when the heading names none.
	Platforms, From string
	Lines           []string
}

// whyBlocks returns the "why did cook run" blocks printed in log:
// "build: <platforms>: why did cook run[ (compared with <from>)]:" and
// the indented lines under it.
func whyBlocks(log string) []why {
	var out []why
	lines := strings.Split(log, "\n")
	for i := 0; i < len(lines); i++ {
		rest, ok := strings.CutPrefix(lines[i], "build: ")
		if !ok || !strings.HasSuffix(rest, ":") {
			continue
		}
		plats, head, ok := strings.Cut(strings.TrimSuffix(rest, ":"), ": why did cook run")
		if !ok {
			continue
		}
		w := why{Platforms: plats}
		if from, ok := strings.CutPrefix(head, " (compared with "); ok {
			w.From = strings.TrimSuffix(from, ")")
		} else if head != "" {
			continue
		}
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "  ") {
			i++
			w.Lines = append(w.Lines, strings.TrimPrefix(lines[i], "  "))
		}
		out = append(out, w)
	}
	return out
}
