package pipeline

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
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
