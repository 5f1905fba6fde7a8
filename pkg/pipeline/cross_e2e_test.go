package pipeline

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

const testdataCross = "../../testdata/cross"

// wantCross is what testdata/cross prints on a platform built for the gnu
// triple (wantCrossMusl: the default musl one): the text, the triple, FNV-1a of the text computed by the C code (checked against Go's),
// the architecture the C compiler generated code for, and the words as JSON.
func wantCross(p platform.Platform, text string) []string {
	h := fnv.New32a()
	h.Write([]byte(text))
	return []string{
		text + " on " + p.Triple("gnu"),
		fmt.Sprintf("C fnv1a=%08x arch=%s", h.Sum32(), p.RustArch()),
		fmt.Sprintf(`{"count":%d,"words":["%s"]}`, len(strings.Fields(text)), strings.Join(strings.Fields(text), `","`)),
	}
}

// runSteps counts the RUN steps of a stage in the solve: a cross stage
// must have one for all platforms.
func runSteps(r *Result, stage string) int {
	n := 0
	for _, v := range r.Solve.Vertexes {
		if isStageRun(v.Name, stage, "") {
			n++
		}
	}
	return n
}

// logFinished logs cargo's "Finished" lines of the cross steps that ran:
// the compile time inside the solve, for before/after comparisons.
func logFinished(t *testing.T, r *Result) {
	t.Helper()
	for _, stage := range []string{app.StageCrossCook, app.StageCrossBuild} {
		for _, line := range strings.Split(r.stageLogs(stage, ""), "\n") {
			if strings.Contains(line, "Finished ") {
				t.Logf("%s: %s", stage, strings.TrimSpace(line))
			}
		}
	}
}

// The one pkg/pipeline end-to-end test about glibc: MUSLRUST_CHEF_LIBC=gnu
// with a builder image whose toolchain is static glibc (the glibc cross
// stand-in: Debian's rustc, gcc and aarch64 gcc cross compiler; every other
// e2e test builds musl). rust:build with no strategy configured: the
// builder's declaration makes it cross; one cook and one build step on
// amd64 compile both gnu triples (C code through the declared aarch64 gcc),
// the binaries are static glibc for their platform, the arm64 image runs
// under QEMU and prints what its C code computed. A one-line edit then
// reuses the cook step for both triples and compiles only the local crates.
func TestCrossBuildBothPlatformsAndEdit(t *testing.T) {
	testinfra.RequireArm64(t)
	t.Setenv("MUSLRUST_CHEF_LIBC", "gnu")
	e := newGlibcCrossEnv(t)
	ws := fixtures.CopyTree(t, testdataCross)
	// A recipe unique to this run: the first build must cook, so that the
	// edit below finds the cook step in BuildKit's cache. Answered from an
	// earlier run's cache instead, the first build could skip a cook
	// snapshot that a prune had removed, and the edit would cook again.
	appendTo(t, filepath.Join(ws, "Cargo.toml"), fmt.Sprintf("\n[workspace.metadata.muslrust-chef-test]\nrun = \"%d\"\n", time.Now().UnixNano()))
	ctx := context.Background()
	s := e.crossSettings(ws, "linux/amd64,linux/arm64", e.image("crossapp"))
	s.Strategy = nil // the default: auto

	start := time.Now()
	r, err := build(ctx, s, e.runtime(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first cross build (both platforms) took %s", time.Since(start).Round(time.Second))
	logFinished(t, r)
	if r.Strategy != StrategyCross || !strings.Contains(e.log.String(), "build: strategy cross (default: builder image "+e.builder+" (linux/amd64) declares io.muslrust-chef.cross=linux/amd64,linux/arm64") {
		t.Fatalf("strategy %q; log:\n%s", r.Strategy, e.log.String())
	}
	if v, ok := r.StageRun(app.StageCook, ""); !ok || !v.Executed() {
		t.Errorf("cross-cook step of a new recipe: found %t, ran %t; want it run", ok, ok && v.Executed())
	}
	for _, stage := range []string{app.StageCrossCook, app.StageCrossBuild} {
		if n := runSteps(r, stage); n != 1 {
			t.Errorf("%s has %d RUN steps in the solve, want 1 for both platforms", stage, n)
		}
	}
	if runSteps(r, app.StageCook)+runSteps(r, app.StageBuild) != 0 {
		t.Errorf("a cross build ran the emulate stages")
	}
	got := indexManifests(t, r.Published.Reference)
	if len(got) != 2 || got["linux/amd64"] == (v1.Hash{}) || got["linux/arm64"] == (v1.Hash{}) {
		t.Fatalf("published index has %v, want linux/amd64 and linux/arm64", got)
	}
	text := "hello from crossapp v1"
	for _, p := range []platform.Platform{amd64(), arm64()} {
		bin := filepath.Join(ws, "dist", p.DistDir(), "crossapp")
		if res, err := elfcheck.VerifyLibc(bin, p, elfcheck.Glibc); err != nil || res.Libc != elfcheck.Glibc {
			t.Errorf("%s: %+v %v", bin, res, err)
		}
		if !strings.Contains(e.log.String(), "build: "+bin+" verified static, glibc") {
			t.Errorf("the build log does not name glibc for %s:\n%s", bin, e.log.String())
		}
		checkOutput(t, p.String()+" binary", runBinary(t, bin), wantCross(p, text))
	}
	ref := mustRef(t, r.Published.Reference).Context().Digest(got["linux/arm64"].String()).String()
	checkOutput(t, "docker run linux/arm64", dockerRun(t, ref, "linux/arm64"), wantCross(arm64(), text))

	// A token unique to this run, so that the shared buildkitd cannot
	// have the build step from an earlier run.
	text = fmt.Sprintf("hello from crossapp v%d", time.Now().UnixNano()%1e9)
	replaceIn(t, filepath.Join(ws, "crates/crossapp/src/main.rs"), `"hello from crossapp v1"`, `"`+text+`"`)
	start = time.Now()
	r, err = build(ctx, s, e.runtime(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cross rebuild after a one-line edit took %s", time.Since(start).Round(time.Second))
	logFinished(t, r)
	if v, ok := r.StageRun(app.StageCook, ""); !ok || !v.Cached {
		t.Errorf("cross-cook step after a source edit: found %t, cached %t", ok, v.Cached)
	}
	if v, ok := r.StageRun(app.StageBuild, ""); !ok || !v.Executed() {
		t.Errorf("cross-build step did not run after a source edit")
	}
	local, external := compiled(r.stageLogs(app.StageCrossBuild, ""))
	sort.Strings(local)
	// One cargo for both triples names each local crate once (both
	// binaries print the new text below); cook compiled every external one.
	if len(external) > 0 || strings.Join(local, ",") != "crossapp,words" {
		t.Errorf("cross build compiled local %v and external %v; want only crossapp and words, each once (one cargo for both triples)", local, external)
	}
	for _, p := range []platform.Platform{amd64(), arm64()} {
		checkOutput(t, p.String()+" binary", runBinary(t, filepath.Join(ws, "dist", p.DistDir(), "crossapp")), wantCross(p, text))
	}
}

// Bad input for cross on the musl stand-in given as the builder image: one
// clear line, a non-nil error and nothing published.
func TestCrossBadInput(t *testing.T) {
	e := newMuslEnv(t)
	ctx := context.Background()

	t.Run("builder that cannot cross", func(t *testing.T) {
		s := e.crossSettings(fixtures.CopyTree(t, testdataCross), "linux/amd64,linux/arm64", e.image("crossapp")+"-nocross")
		s.Builder = str(builderWithLabels(t, e, "nocross", map[string]string{builder.LabelCross: ""}))
		s.Strategy = str(StrategyCross)
		_, err := build(ctx, s, e.runtime(""))
		want := "-strategy=cross: builder image " + *s.Builder + " (linux/amd64) declares no cross-compilation (label io.muslrust-chef.cross is absent): use MUSLRUST_CHEF_STRATEGY=emulate, or a builder image that declares cross-compilation to linux/amd64,linux/arm64"
		if err == nil || err.Error() != want {
			t.Fatalf("error %v\nwant %s", err, want)
		}
		regtest.AssertAbsent(t, mustRef(t, *s.Image))
	})
	t.Run("C compiler missing for a triple", func(t *testing.T) {
		bad := builderWithLabels(t, e, "bad-cc", map[string]string{
			builder.LabelCrossPrefix + "aarch64-unknown-linux-musl.cc": "aarch64-linux-musl-gcc",
		})
		ws := fixtures.CopyTree(t, testdataCross)
		s := e.crossSettings(ws, "linux/amd64,linux/arm64", e.image("crossapp")+"-badcc")
		s.Builder = str(bad)
		s.Strategy = nil
		_, err := build(ctx, s, e.runtime(""))
		if err == nil {
			t.Fatal("a builder declaring a missing C compiler built")
		}
		msg := err.Error()
		t.Logf("error: %s", msg)
		if strings.Contains(msg, "\n") || !strings.Contains(msg, "cross-cook") ||
			!strings.Contains(msg, "CC_aarch64_unknown_linux_musl=aarch64-linux-musl-gcc needs aarch64-linux-musl-gcc, which is not in the builder image (declared by its label io.muslrust-chef.cross.aarch64-unknown-linux-musl.cc)") {
			t.Fatalf("error %q: want one line naming the missing compiler and its label", msg)
		}
		regtest.AssertAbsent(t, mustRef(t, *s.Image))
		if _, err := os.Stat(filepath.Join(ws, "dist")); err == nil {
			t.Errorf("dist/ was written despite the failure")
		}
	})
}

// builderWithLabels pushes the env's builder with labels set on its amd64
// image (an empty value removes the label; config only: the layers are the
// registry's already).
func builderWithLabels(t *testing.T, e *env, tag string, labels map[string]string) string {
	t.Helper()
	idx, err := remote.Index(mustRef(t, e.builder))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := mutate.IndexMediaType(empty.Index, im.MediaType)
	for _, m := range im.Manifests {
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if m.Platform != nil && m.Platform.Architecture == "amd64" {
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			cfg := cf.Config
			cfg.Labels = map[string]string{}
			for k, v := range cf.Config.Labels {
				cfg.Labels[k] = v
			}
			for k, v := range labels {
				if v == "" {
					delete(cfg.Labels, k)
				} else {
					cfg.Labels[k] = v
				}
			}
			if img, err = mutate.Config(img, cfg); err != nil {
				t.Fatal(err)
			}
		}
		out = mutate.AppendManifests(out, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: m.Platform}})
	}
	ref := e.registry + "/" + standin.MuslRepository + ":" + tag
	if err := remote.WriteIndex(mustRef(t, ref), out); err != nil {
		t.Fatal(err)
	}
	return ref
}
