package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/provenance"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/sbom"
)

// The CI page of a real build, by exact content: two pushes of one tag,
// the second with one more RUSTFLAGS word so that its cook runs. Every
// value on the page is found again here from its source (the binary's
// size and allocator from the file, the platform manifest from the
// registry's index, the records' digests from their referrers, the cook's
// time from BuildKit's step) and laid out by a format written here; only
// the timings table is the renderer's own (TestTimingsMarkdown checks it).
func TestStepSummaryOfARealBuild(t *testing.T) {
	e := newDefaultEnv(t)
	ws := filepath.Join(fixtures.CopyTree(t, testdataOutside), "repo", "app")
	nonce := time.Now().UnixNano()
	// A binary of its own: the platform manifest, and so its records, are
	// this test's alone.
	replaceIn(t, filepath.Join(ws, "src", "main.rs"), "hello from outside", fmt.Sprintf("hello from run %d", nonce))
	image := fmt.Sprintf("%s/muslrust-chef-test/summary-page:run-%d", e.registry, nonce)
	s := e.settings(ws, "linux/amd64", image)
	ctx := context.Background()
	flags := fmt.Sprintf("%s --cfg summary_run_%d", standin.MuslRustFlags, nonce)
	t.Setenv("MUSLRUST_CHEF_RUSTFLAGS", flags)
	if _, err := build(ctx, s, e.runtime("")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MUSLRUST_CHEF_RUSTFLAGS", flags+" -Ccodegen-units=4")
	r, err := build(ctx, s, e.runtime(""))
	if err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(*s.Dist, "linux_amd64", "app")
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	check, err := elfcheck.Verify(bin, amd64())
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(r.Published.Reference)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("index %s: %v, %v", ref, im, err)
	}
	refs := map[string]string{}
	repo := ref.Context().Name()
	for _, at := range []string{sbom.MediaTypeCycloneDX, sbom.MediaTypeSPDX, provenance.MediaType} {
		recs, err := publish.ReadRecords(ctx, r.Published.Reference, []string{at})
		if err != nil || len(recs) != 1 || recs[0].ArtifactType != at || recs[0].Others != 0 {
			t.Fatalf("%s records of %s: %+v, %v", at, ref, recs, err)
		}
		refs[at] = repo + "@" + recs[0].Referrer.String()
	}
	v, ok := r.StageRun(app.StageCook, "")
	if !ok || v.Cached || v.Started == nil || v.Completed == nil {
		t.Fatalf("the second build's cook step: %+v, found %t; want one that ran", v, ok)
	}
	size := fmt.Sprintf("%.1f kB", float64(fi.Size())/1024)
	if fi.Size() >= 1<<20 {
		size = fmt.Sprintf("%.1f MB", float64(fi.Size())/(1<<20))
	}
	want := fmt.Sprintf("### muslrust-chef build: `%s`\n\n"+
		"Strategy emulate.\n\n"+
		"| platform | binary | size | allocator | image digest | cook |\n"+
		"|---|---|---:|---|---|---|\n"+
		"| linux/amd64 | `app` | %s (%d B) | %s | `%s` | ran %s |\n\n"+
		"#### Why did cook run\n\n"+
		"linux/amd64 (compared with `%s`):\n\n"+
		"- RUSTFLAGS added -Ccodegen-units=4\n\n"+
		"#### Records\n\n"+
		"| platform | SBOM (CycloneDX) | SBOM (SPDX) | provenance |\n"+
		"|---|---|---|---|\n"+
		"| linux/amd64 | `%s` | `%s` | `%s` |\n\n"+
		"#### Timings\n\n%s",
		r.Published.Reference, size, fi.Size(), check.Alloc.Allocator.Describe(), im.Manifests[0].Digest,
		v.Completed.Sub(*v.Started).Round(100*time.Millisecond), image,
		refs[sbom.MediaTypeCycloneDX], refs[sbom.MediaTypeSPDX], refs[provenance.MediaType], r.Timings.markdownTable())
	if check.Alloc.MultiThreaded {
		t.Fatalf("the outside app is single-threaded, verify says otherwise: %+v", check.Alloc)
	}
	if got := r.StepSummary(); got != want {
		t.Errorf("page:\n%s\nwant:\n%s", got, want)
	}
	if !strings.HasPrefix(r.Published.Reference, repo+"@sha256:") {
		t.Errorf("published %s, want %s@sha256:...", r.Published.Reference, repo)
	}
}
