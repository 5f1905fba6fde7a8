package pipeline

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/provenance"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/sbom"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/summary*.md")

// golden compares got with testdata/file byte for byte (-update rewrites it).
func golden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./pkg/pipeline -run TestSummary -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s changed; review and rerun with -update\n--- got ---\n%s\n--- want ---\n%s", file, got, want)
	}
}

// The build's page: one block with the platforms' images, the why of the
// cook that ran, where the records are and the timings.
func TestSummaryPage(t *testing.T) {
	cook := sampleBuildTimings()
	cook.Cook = Step{Seen: true, Took: ms(41230)}
	repo := "registry.example/team/app"
	page := summaryPage{What: "build", Image: repo + "@sha256:" + hex64("1"), Strategy: "cross", Timings: cook,
		Rows: []summaryRow{
			{Platform: whyAmd64, Binary: "app", Size: 1992312, Allocator: "musl malloc (mallocng), multi-threaded",
				Digest: "sha256:" + hex64("a"), Cook: "ran 41.2s",
				CycloneDX: repo + "@sha256:" + hex64("b"), SPDX: repo + "@sha256:" + hex64("c"), Provenance: repo + "@sha256:" + hex64("d")},
			{Platform: whyArm64, Binary: "app", Size: 900, Allocator: "mimalloc",
				Digest: "sha256:" + hex64("e"), Cook: "ran 41.2s",
				CycloneDX: repo + "@sha256:" + hex64("f"), SPDX: repo + "@sha256:" + hex64("0"), Provenance: repo + "@sha256:" + hex64("9")},
		},
		Why: []CookWhy{{Platforms: []platform.Platform{whyAmd64, whyArm64}, From: repo + ":1.4",
			Lines: []string{"Cargo.lock: serde_json 1.0.120 -> 1.0.121", "RUSTFLAGS added -C target-cpu=native; removed -Ccodegen-units=4", "features: [default] -> [default, *fast*|`x`]"}}},
	}
	golden(t, "summary.md", page.markdown())

	// A failed build: no image, what verify found, no records yet.
	failed := Timings{What: "build", Plan: ms(15), Total: ms(800), Failed: stageVerify, reached: []string{stagePlan, stageSolve, stageVerify}}
	page = summaryPage{What: "build", Failed: stageVerify, Strategy: "emulate", Timings: failed,
		Rows: []summaryRow{{Platform: whyAmd64, Binary: "app", Size: 1 << 20, Allocator: "glibc malloc", Cook: "reused"}}}
	golden(t, "summary-failed.md", page.markdown())
}

func hex64(c string) string {
	s := ""
	for len(s) < 64 {
		s += c
	}
	return s
}

// A build's Result becomes its page: each verified binary's size and
// allocator, the platform manifest, the cook as BuildKit reported it, the
// attached records as repo@digest, the why blocks; a tar output (no
// referrers) names the files written beside the archive.
func TestStepSummaryOfAResult(t *testing.T) {
	dist := t.TempDir()
	bin := filepath.Join(dist, "linux_amd64", "app")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, make([]byte, 3000), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Unix(100, 0)
	end := start.Add(41230 * time.Millisecond)
	manifest := v1.Hash{Algorithm: "sha256", Hex: hex64("a")}
	repo := "127.0.0.1:5123/team/app"
	r := &Result{Config: &Config{Spec: buildspec.Spec{Bin: "app", Dist: dist, Platforms: []platform.Platform{whyAmd64, whyArm64}}},
		Binaries:  map[platform.Platform]string{whyAmd64: bin},
		Checks:    map[platform.Platform]elfcheck.Result{whyAmd64: {Alloc: elfcheck.AllocReport{Allocator: elfcheck.AllocMusl, MultiThreaded: true}}},
		Manifests: map[platform.Platform]v1.Hash{whyAmd64: manifest},
		Why:       []CookWhy{{Platforms: []platform.Platform{whyAmd64}, Lines: []string{"features: [default] -> [default, fmt]"}}},
		Published: publish.Result{Reference: repo + "@sha256:" + hex64("1"), Referrers: map[v1.Hash][]v1.Descriptor{manifest: {
			{ArtifactType: sbom.MediaTypeCycloneDX, Digest: v1.Hash{Algorithm: "sha256", Hex: hex64("b")}},
			{ArtifactType: sbom.MediaTypeSPDX, Digest: v1.Hash{Algorithm: "sha256", Hex: hex64("c")}},
			{ArtifactType: provenance.MediaType, Digest: v1.Hash{Algorithm: "sha256", Hex: hex64("d")}},
		}}},
		Timings: sampleBuildTimings(),
	}
	r.Strategy = StrategyEmulate
	r.Solve = &buildkit.Result{Vertexes: []buildkit.Vertex{{Name: "[linux/amd64 cook 3/3] RUN cargo build", Started: &start, Completed: &end}}}
	got := r.StepSummary()
	for _, want := range []string{
		"### muslrust-chef build: `" + repo + "@sha256:" + hex64("1") + "`\n\nStrategy emulate.\n\n",
		"| linux/amd64 | `app` | 2.9 kB (3000 B) | musl malloc (mallocng), multi-threaded | `sha256:" + hex64("a") + "` | ran 41.2s |\n\n",
		"#### Why did cook run\n\nlinux/amd64:\n\n- features: \\[default\\] -\\> \\[default, fmt\\]\n\n",
		"| linux/amd64 | `" + repo + "@sha256:" + hex64("b") + "` | `" + repo + "@sha256:" + hex64("c") + "` | `" + repo + "@sha256:" + hex64("d") + "` |\n\n#### Timings\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("page lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "linux/arm64") {
		t.Errorf("a platform without a verified binary has a row:\n%s", got)
	}

	// tar: no referrers; the copies beside the archive win over dist's.
	r.Published = publish.Result{Reference: "app:latest"}
	r.Records = map[platform.Platform][]string{whyAmd64: {
		filepath.Join(dist, "linux_amd64", "app.cdx.json"), filepath.Join(dist, "linux_amd64", "app.spdx.json"), filepath.Join(dist, "linux_amd64", "app.provenance.json"),
		"/out/app.tar.cdx.json", "/out/app.tar.spdx.json", "/out/app.tar.provenance.json"}}
	r.Solve.Vertexes[0].Cached = true
	got = r.StepSummary()
	for _, want := range []string{
		"| `sha256:" + hex64("a") + "` | reused |\n",
		"| linux/amd64 | `/out/app.tar.cdx.json` | `/out/app.tar.spdx.json` | `/out/app.tar.provenance.json` |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("tar page lacks %q:\n%s", want, got)
		}
	}

	// A cook's page is its timings table.
	cook := &Result{Timings: Timings{What: "cook", Plan: ms(15), Total: ms(800), reached: []string{stagePlan}}}
	if got := cook.StepSummary(); got != cook.Timings.Markdown() {
		t.Errorf("cook page:\n%s", got)
	}
}
