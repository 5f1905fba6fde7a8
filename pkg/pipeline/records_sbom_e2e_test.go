package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/sbom"
	"github.com/muslrust-chef/muslrust-chef/pkg/slim"
)

// heldoutRevision is the source revision the record tests build: the
// workspace's own crates carry it in the SBOM.
const heldoutRevision = "0123456789abcdef0123456789abcdef01234567"

// rust:build of the held-out workspace for both platforms with the cross
// strategy (one cargo for both triples, no QEMU), pushed to the registry:
// each platform manifest's SBOM lists what cargo links for its triple and
// features, read back from the registry as rust:sbom does. amd64 lacks the
// aarch64-only aho-corasick and the memchr it pulls in, arm64 has both;
// the renamed cf is cfg-if; the dev-dependency serde_json (and the itoa it
// uses) never shows, the build-dependency regex-syntax only as a build
// tool; helper, a path member, carries the revision and its old licence
// spelling normalised. Rebuilt with -features fmt, itoa is linked on both.
func TestSBOMFollowsTripleAndFeatures(t *testing.T) {
	e := newDefaultEnv(t)
	ws := fixtures.CopyTree(t, testdataHeldout)
	ctx := context.Background()
	s := e.settings(ws, "linux/amd64,linux/arm64", e.image("heldout-sbom"))
	s.Strategy, s.Bin = str(StrategyCross), str("heldout")
	rt := append(e.runtime(""), WithLabels(slim.Labels{Revision: heldoutRevision, Source: "https://git.example.invalid/heldout"}))

	check := func(features string, want map[string][]string) {
		t.Helper()
		start := time.Now()
		r, err := build(ctx, s, rt)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("cross build (features %q) took %s", features, time.Since(start).Round(time.Second))
		if r.Strategy != StrategyCross {
			t.Fatalf("strategy %q, want cross", r.Strategy)
		}
		docs := publishedRecords(t, r, indexManifests(t, r.Published.Reference))
		for _, p := range []platform.Platform{amd64(), arm64()} {
			what := fmt.Sprintf("%s (features %q)", p, features)
			doc, ok := docs[p.String()]
			if !ok {
				t.Fatalf("%s: no records attached to %s", what, r.Published.Reference)
			}
			sameRecords(t, what+": dist and registry", distRecords(t, filepath.Join(ws, "dist"), p, "heldout"), doc)
			s, by := linked(t, what, doc.CycloneDX)
			if got := names(s.Crates); !slices.Equal(got, want[p.Arch]) {
				t.Errorf("%s: linked crates %v, want %v", what, got, want[p.Arch])
			}
			if s.Triple != p.Triple("musl") {
				t.Errorf("%s: SBOM for triple %q", what, s.Triple)
			}
			if s.Root.Name != "heldout" || s.Binary != "heldout" {
				t.Errorf("%s: SBOM of %s/%s, want heldout/heldout", what, s.Root.Name, s.Binary)
			}
			if c := by["cfg-if"]; c.PURL != "pkg:cargo/cfg-if@1.0.0" || c.Source.Kind != sbom.SourceRegistry {
				t.Errorf("%s: the renamed cf is %+v, want cfg-if 1.0.0 from the registry", what, c)
			}
			if h := by["helper"]; h.Source.Kind != sbom.SourcePath || h.Source.Commit != heldoutRevision || h.Source.Path != "crates/helper" || h.License != "MIT OR Apache-2.0" {
				t.Errorf("%s: helper is %+v, want a path crate at crates/helper, revision %s, licence MIT OR Apache-2.0", what, h, heldoutRevision)
			}
			if p.Arch == "arm64" {
				// Debian's checksum of aho-corasick is in the lock; cfg-if's is not.
				if c := by["aho-corasick"]; len(c.SHA256) != 64 {
					t.Errorf("%s: aho-corasick carries no SHA-256: %+v", what, c)
				}
			}
			if got := names(s.BuildTools); !slices.Contains(got, "regex-syntax") || slices.Contains(got, "serde_json") {
				t.Errorf("%s: build tools %v, want regex-syntax and never the dev-dependency serde_json", what, got)
			}
			spdx, err := sbom.ReadSPDX(doc.SPDX)
			if err != nil {
				t.Fatalf("%s: the SPDX SBOM does not read: %v", what, err)
			}
			if got := names(spdx.Crates); !slices.Equal(got, want[p.Arch]) {
				t.Errorf("%s: the SPDX SBOM lists %v, want %v", what, got, want[p.Arch])
			}
			prov := parseProvenance(t, what, doc.Provenance)
			if f := prov.Cargo.Flags; f.Triple != p.Triple("musl") || strings.Join(f.Features, ",") != features {
				t.Errorf("%s: provenance says triple %q features %v", what, f.Triple, f.Features)
			}
			var table strings.Builder
			if err := s.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			t.Logf("rust:sbom's table of %s:\n%s", what, table.String())
		}
	}
	check("", map[string][]string{"amd64": {"cfg-if", "helper"}, "arm64": {"aho-corasick", "cfg-if", "helper", "memchr"}})
	s.Features = str("fmt")
	check("fmt", map[string][]string{"amd64": {"cfg-if", "helper", "itoa"}, "arm64": {"aho-corasick", "cfg-if", "helper", "itoa", "memchr"}})
}
