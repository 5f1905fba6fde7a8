package pipeline

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

const testdataApp = "../../testdata/app"

// want is what the testdata binary prints on each platform, built for the
// default (musl) triple: the triple names the architecture it runs on.
func want(arch, version string) []string {
	if arch == "amd64" {
		return []string{"hello from app " + version + " (4 words) on x86_64-unknown-linux-musl",
			`{"count":4,"words":["hello","from","app","` + version + `"]}`}
	}
	return []string{"hello from app " + version + " (4 words) on aarch64-unknown-linux-musl",
		fmt.Sprintf("%d bytes", len("hello from app "+version))}
}

// verifyMusl checks a dist binary is static musl for its platform, and
// that the build log said so.
func verifyMusl(t *testing.T, e *env, bin string, p platform.Platform) {
	t.Helper()
	res, err := elfcheck.VerifyLibc(bin, p, elfcheck.Musl)
	if err != nil || res.Libc != elfcheck.Musl {
		t.Errorf("%s: %+v %v", bin, res, err)
	}
	if !strings.Contains(e.log.String(), "build: "+bin+" verified static, musl") {
		t.Errorf("the build log does not name musl for %s:\n%s", bin, e.log.String())
	}
}

func checkOutput(t *testing.T, what, out string, lines []string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("%s printed %q, want a line %q", what, out, l)
		}
	}
}

func indexManifests(t *testing.T, ref string) map[string]v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("%s is not an index: %v", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]v1.Hash{}
	for _, m := range im.Manifests {
		out[m.Platform.OS+"/"+m.Platform.Architecture] = m.Digest
	}
	return out
}

// dockerRun pulls a platform's image from the registry into the Docker
// daemon and runs it (arm64 under QEMU).
func dockerRun(t *testing.T, ref, plat string) string {
	t.Helper()
	testinfra.DockerSocket(t)
	docker := testinfra.Tool(t, "docker")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, docker, "pull", "-q", "--platform", plat, ref).CombinedOutput(); err != nil {
		t.Fatalf("docker pull --platform %s %s: %v\n%s", plat, ref, err, out)
	}
	out, err := exec.CommandContext(ctx, docker, "run", "--rm", "--platform", plat, ref).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run --platform %s %s: %v\n%s", plat, ref, err, out)
	}
	return string(out)
}

func amd64() platform.Platform { p, _ := platform.Parse("linux/amd64"); return p }
func arm64() platform.Platform { p, _ := platform.Parse("linux/arm64"); return p }

// rust:build for linux/amd64 and linux/arm64 with the emulate strategy
// and nothing else configured: the kit's own builder on the musl stand-in,
// built for each platform (arm64 under QEMU), compiles each platform's
// default musl triple; an index in the registry, both images run and print
// what the sources say, the binaries are static musl, and each platform
// manifest carries its SBOMs and provenance (the same bytes as beside its
// binary, which stays the one file rust:slim infers); then a one-line edit
// reuses the cook step, compiles only local crates, records the reuse and
// prints no "why did cook run", and a version bump of the binary's crate
// reuses it too.
func TestBuildEmulateBothPlatformsEditAndBump(t *testing.T) {
	testinfra.RequireArm64(t)
	e := newDefaultEnv(t)
	ws := fixtures.CopyTree(t, testdataApp)
	ctx := context.Background()
	s := e.settings(ws, "linux/amd64,linux/arm64", e.image("app"))

	start := time.Now()
	r, err := build(ctx, s, e.runtime(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first emulate build (both platforms) took %s", time.Since(start).Round(time.Second))
	if r.Strategy != StrategyEmulate || !r.Builder.Embedded {
		t.Fatalf("strategy %q, builder %q: want emulate with the kit's own builder", r.Strategy, r.Builder.Ref)
	}
	got := indexManifests(t, r.Published.Reference)
	if len(got) != 2 || got["linux/amd64"] == (v1.Hash{}) || got["linux/arm64"] == (v1.Hash{}) {
		t.Fatalf("published index has %v, want linux/amd64 and linux/arm64", got)
	}
	for _, p := range []platform.Platform{amd64(), arm64()} {
		bin := filepath.Join(ws, "dist", p.DistDir(), "app")
		verifyMusl(t, e, bin, p)
		// By the platform's manifest digest: Docker 20.10 refuses to pull
		// a second platform of an index it already pulled by digest.
		ref := mustRef(t, r.Published.Reference).Context().Digest(got[p.String()].String()).String()
		checkOutput(t, "docker run "+p.String(), dockerRun(t, ref, p.String()), want(p.Arch, "v1"))
	}
	// The records: attached to both platform manifests, the same bytes as
	// beside each binary, and the binary still the one file rust:slim finds.
	docs := publishedRecords(t, r, got)
	for _, p := range []platform.Platform{amd64(), arm64()} {
		rec := distRecords(t, filepath.Join(ws, "dist"), p, "app")
		sameRecords(t, p.String()+": dist and registry", rec, docs[p.String()])
		prov := parseProvenance(t, p.String(), rec.Provenance)
		if prov.Subject.Digest != got[p.String()].String() || prov.Subject.Platform != p {
			t.Errorf("%s: provenance about %s %s, want the platform manifest %s", p, prov.Subject.Platform, prov.Subject.Digest, got[p.String()])
		}
	}
	if bin, err := InferBin(filepath.Join(ws, "dist"), []platform.Platform{amd64(), arm64()}); err != nil || bin != "app" {
		t.Errorf("InferBin beside the records: %q, %v; want app", bin, err)
	}

	// A token unique to this run: the shared buildkitd keeps earlier runs'
	// results, and a repeated edit would find its build step cached.
	v2 := fmt.Sprintf("v%d", time.Now().UnixNano()%1e9)
	replaceIn(t, filepath.Join(ws, "crates/app/src/main.rs"), `"hello from app v1"`, `"hello from app `+v2+`"`)
	start = time.Now()
	mark := len(e.log.String())
	r, err = build(ctx, s, e.runtime(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("emulate rebuild after a one-line edit took %s", time.Since(start).Round(time.Second))
	if blocks := whyBlocks(e.log.String()[mark:]); len(blocks) > 0 {
		t.Errorf("cook was reused, yet the log says why it ran: %q", blocks)
	}
	for _, p := range []platform.Platform{amd64(), arm64()} {
		if v, ok := r.StageRun("cook", p.String()); !ok || !v.Cached {
			t.Errorf("%s: cook step after a source edit: found %t, cached %t", p, ok, v.Cached)
		}
		if prov := parseProvenance(t, p.String(), distRecords(t, filepath.Join(ws, "dist"), p, "app").Provenance); !prov.Cook.Reused || prov.Cook.Key == nil {
			t.Errorf("%s: provenance after a source edit says cook reused %t, key %v", p, prov.Cook.Reused, prov.Cook.Key)
		}
		if v, ok := r.StageRun("build", p.String()); !ok || !v.Executed() {
			t.Errorf("%s: build step did not run after a source edit", p)
		}
		local, external := compiled(r.stageLogs("build", p.String()))
		sort.Strings(local)
		if len(external) > 0 || strings.Join(local, ",") != "app,greet" {
			t.Errorf("%s: build compiled local %v and external %v; want only the local app and greet", p, local, external)
		}
		checkOutput(t, p.String()+" binary", runBinary(t, filepath.Join(ws, "dist", p.DistDir(), "app")), want(p.Arch, v2))
	}

	replaceIn(t, filepath.Join(ws, "crates/app/Cargo.toml"), `version = "1.0.0"`, `version = "1.0.1"`)
	replaceIn(t, filepath.Join(ws, "Cargo.lock"), "name = \"app\"\nversion = \"1.0.0\"", "name = \"app\"\nversion = \"1.0.1\"")
	r, err = build(ctx, s, e.runtime(""))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []platform.Platform{amd64(), arm64()} {
		if v, ok := r.StageRun("cook", p.String()); !ok || !v.Cached {
			t.Errorf("%s: cook step after a version bump: found %t, cached %t", p, ok, v.Cached)
		}
	}
}

// rust:cook with nothing configured (the kit's own builder, cross, musl)
// exports the cook layers to a registry cache; a buildkitd with an empty
// state then takes the cook step from that cache.
func TestCookCacheServesFreshBuildkitd(t *testing.T) {
	e := newDefaultEnv(t)
	ws := fixtures.CopyTree(t, testdataApp)
	// A source edit makes this test's sources differ from other tests'; the
	// cache ref is unique to this run, so only this run's export can hit.
	replaceIn(t, filepath.Join(ws, "crates/app/src/main.rs"), `"hello from app v1"`, `"hello from app v3"`)
	cacheRef := fmt.Sprintf("%s/muslrust-chef-test/app-cache:run-%d", e.registry, time.Now().UnixNano())
	ctx := context.Background()
	s := e.settings(ws, "linux/amd64", e.image("app"))
	s.Strategy = nil
	s.Cache = str(cacheRef)
	start := time.Now()
	r, err := cook(ctx, s, e.runtime(""))
	if err != nil {
		t.Fatal(err)
	}
	if r.Cache.Cook.To != cacheRef+"-cook" {
		t.Fatalf("cook cache export %q, want %q", r.Cache.Cook.To, cacheRef+"-cook")
	}
	if _, err := remote.Head(mustRef(t, cacheRef+"-cook")); err != nil {
		t.Fatalf("rust:cook did not export %s-cook: %v", cacheRef, err)
	}
	if _, ok := r.StageRun("build", ""); ok {
		t.Fatal("rust:cook ran the build stage")
	}
	t.Logf("rust:cook took %s (strategy %s)", time.Since(start).Round(time.Second), r.Strategy)

	fresh := testinfra.FreshBuildkitd(t)
	start = time.Now()
	r, err = build(ctx, s, e.runtime(fresh))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rust:build on a fresh buildkitd took %s", time.Since(start).Round(time.Second))
	if v, ok := r.StageRun("cook", ""); !ok || !v.Cached {
		t.Fatalf("fresh buildkitd: cook step found %t, cached %t; want it from %s", ok, v.Cached, cacheRef)
	}
	stage := app.StageBuild
	if r.Strategy == StrategyCross {
		stage = crossStage(stage)
	}
	local, external := compiled(r.stageLogs(stage, ""))
	if len(external) > 0 || len(local) == 0 {
		t.Errorf("fresh buildkitd compiled external crates %v (local %v)", external, local)
	}
	bin := filepath.Join(ws, "dist", "linux_amd64", "app")
	verifyMusl(t, e, bin, amd64())
	checkOutput(t, "binary", runBinary(t, bin), want("amd64", "v3"))
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// On testdata/app (kept small: its arm64 cook runs under QEMU, where
// Debian 12's qemu-user 7.2 was seen to deadlock a forking cargo on the
// larger testdata/cross): emulate with nothing else configured (the kit's
// own builder on the musl stand-in) builds both platforms; split
// builds each platform on its own and pushes it by digest (written to
// $GITHUB_OUTPUT); merging the digests gives the same platforms, and the
// very same platform images, as the emulate build; the binaries are static
// musl and the merged index's images run; each push by digest carries its
// platform's records, which a reader of the merged index finds. A one-line
// edit then rebuilds each platform with its cook step reused.
func TestSplitThenMergeMatchesEmulate(t *testing.T) {
	testinfra.RequireArm64(t)
	e := newDefaultEnv(t)
	ws := fixtures.CopyTree(t, testdataApp)
	ctx := context.Background()
	image := e.image("app")
	s := e.settings(ws, "linux/amd64,linux/arm64", image)
	start := time.Now()
	em, err := build(ctx, s, e.runtime(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("emulate build (both platforms) took %s", time.Since(start).Round(time.Second))
	if em.Strategy != StrategyEmulate || !em.Builder.Embedded {
		t.Fatalf("strategy %q, builder %q: want emulate with the kit's own builder", em.Strategy, em.Builder.Ref)
	}
	for _, p := range []platform.Platform{amd64(), arm64()} {
		verifyMusl(t, e, filepath.Join(ws, "dist", p.DistDir(), "app"), p)
	}
	emulated := indexManifests(t, em.Published.Reference)
	publishedRecords(t, em, emulated)

	// split runs each platform on its own, as one runner per platform
	// would, and merges their digests.
	split := func(version string) (merged map[string]v1.Hash, runs map[string]*Result) {
		t.Helper()
		var digests []string
		runs = map[string]*Result{}
		for _, p := range []platform.Platform{amd64(), arm64()} {
			out := filepath.Join(t.TempDir(), "github-output")
			sp := e.settings(ws, p.String(), image)
			sp.Strategy = str(StrategySplit)
			rt := e.runtime("")
			rt = append(rt, WithGitHubOutput(out))
			start := time.Now()
			r, err := build(ctx, sp, rt)
			if err != nil {
				t.Fatalf("split %s: %v", p, err)
			}
			t.Logf("split %s (%s) took %s", p, version, time.Since(start).Round(time.Second))
			if r.Strategy != StrategySplit || !r.Builder.Embedded {
				t.Fatalf("split %s: strategy %q, builder %q: want split with the kit's own builder", p, r.Strategy, r.Builder.Ref)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			wantOut := fmt.Sprintf("image=%s\ndigest=%s\nplatform=%s\n", r.Published.Reference, r.Published.Digest, p)
			if string(b) != wantOut {
				t.Fatalf("GITHUB_OUTPUT has %q, want %q", b, wantOut)
			}
			bin := filepath.Join(ws, "dist", p.DistDir(), "app")
			verifyMusl(t, e, bin, p)
			checkOutput(t, "split "+p.String()+" binary", runBinary(t, bin), want(p.Arch, version))
			// The push by digest carries the platform's records.
			pushed := publishedRecords(t, r, map[string]v1.Hash{p.String(): r.Published.Digest})
			sameRecords(t, "split "+p.String()+": dist and registry", distRecords(t, filepath.Join(ws, "dist"), p, "app"), pushed[p.String()])
			digests = append(digests, r.Published.Reference)
			runs[p.String()] = r
		}
		res, err := publish.Merge(ctx, digests, nil)
		if err != nil {
			t.Fatal(err)
		}
		merged = indexManifests(t, res.Ref)
		// The merged index's platform manifests are the split pushes, so
		// their records hang off them: a reader of the merged image finds
		// each split run's records.
		mergedRepo := mustRef(t, res.Ref).Context()
		for p, r := range runs {
			listed := registryReferrers(t, mergedRepo.Digest(merged[p].String()))
			for _, d := range r.Published.Referrers[r.Published.Digest] {
				if !slices.Contains(listed, d.ArtifactType+" "+d.Digest.String()) {
					t.Errorf("merged %s: the split run's %s record %s is not among the referrers %v", p, d.ArtifactType, d.Digest, listed)
				}
			}
		}
		for _, at := range recordTypes {
			recs, err := publish.ReadRecords(ctx, res.Ref, []string{at})
			if err != nil || len(recs) != 2 {
				t.Fatalf("records of the merged index: %d, %v", len(recs), err)
			}
			for _, rec := range recs {
				if rec.ArtifactType != at {
					t.Errorf("merged index: ReadRecords finds no %s record for %s", at, rec.Platform)
				}
			}
		}
		for _, p := range []platform.Platform{amd64(), arm64()} {
			ref := mustRef(t, res.Ref).Context().Digest(merged[p.String()].String()).String()
			checkOutput(t, "docker run merged "+p.String(), dockerRun(t, ref, p.String()), want(p.Arch, version))
		}
		return merged, runs
	}
	merged, runs := split("v1")
	for p, r := range runs {
		if r.Published.Digest != emulated[p] {
			t.Errorf("split %s pushed %s, emulate's index has %s for it", p, r.Published.Digest, emulated[p])
		}
	}
	if fmt.Sprint(merged) != fmt.Sprint(emulated) {
		t.Fatalf("merged split index %v, emulate index %v", merged, emulated)
	}

	// A token unique to this run (see TestBuildEmulateBothPlatformsEditAndBump).
	v2 := fmt.Sprintf("v%d", time.Now().UnixNano()%1e9)
	replaceIn(t, filepath.Join(ws, "crates/app/src/main.rs"), `"hello from app v1"`, `"hello from app `+v2+`"`)
	merged2, runs := split(v2)
	for p, r := range runs {
		if v, ok := r.StageRun(app.StageCook, p); !ok || !v.Cached {
			t.Errorf("split %s: cook step after a source edit: found %t, cached %t", p, ok, v.Cached)
		}
		if v, ok := r.StageRun(app.StageBuild, p); !ok || !v.Executed() {
			t.Errorf("split %s: build step did not run after a source edit", p)
		}
		if merged2[p] == merged[p] {
			t.Errorf("split %s: the edit left the image %s unchanged", p, merged2[p])
		}
	}
}

// Bad input fails with one clear line and publishes nothing (the user's
// default path: the kit's own builder on the musl stand-in).
func TestBadInput(t *testing.T) {
	e := newDefaultEnv(t)
	ctx := context.Background()

	t.Run("compile error", func(t *testing.T) {
		ws := fixtures.CopyTree(t, testdataApp)
		replaceIn(t, filepath.Join(ws, "crates/app/src/main.rs"), `let text = "hello from app v1";`, `let text = undefined_name;`)
		image := e.image("broken") + "-" + fmt.Sprint(time.Now().UnixNano())
		_, err := build(ctx, e.settings(ws, "linux/amd64", image), e.runtime(""))
		if err == nil {
			t.Fatal("a compile error built")
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, "cargo failed in [build") || !strings.Contains(msg, "undefined_name") {
			t.Fatalf("error %q: want one line quoting rustc's error", msg)
		}
		regtest.AssertAbsent(t, mustRef(t, image))
	})
	t.Run("unknown bin", func(t *testing.T) {
		s := e.settings(fixtures.CopyTree(t, testdataApp), "linux/amd64", e.image("app"))
		s.Bin = str("nope")
		_, err := build(ctx, s, e.runtime(""))
		if err == nil || err.Error() != `bin "nope" not found; known bins: app` {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("builder without the platform", func(t *testing.T) {
		one := amd64OnlyBuilder(t, e, standin.MuslImage(t))
		s := e.settings(fixtures.CopyTree(t, testdataApp), "linux/amd64,linux/arm64", e.image("app"))
		s.Builder = str(one)
		_, err := build(ctx, s, e.runtime(""))
		if err == nil || !strings.Contains(err.Error(), "has no linux/arm64 image (it has linux/amd64)") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("unreachable runtime base fails before the build", func(t *testing.T) {
		s := e.settings(fixtures.CopyTree(t, testdataApp), "linux/amd64", e.image("app"))
		s.Base = str("127.0.0.1:1/nothing/base:1")
		r, err := build(ctx, s, e.runtime(""))
		if err == nil || !strings.Contains(err.Error(), "base image 127.0.0.1:1/nothing/base:1") || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("error %v", err)
		}
		if r != nil && r.Solve != nil {
			t.Fatalf("BuildKit ran %d steps before the base was checked", len(r.Solve.Vertexes))
		}
	})
	t.Run("shell text in a knob is refused before BuildKit", func(t *testing.T) {
		s := e.settings(fixtures.CopyTree(t, testdataApp), "linux/amd64", e.image("app"))
		s.Features = str("loud,$(touch x)")
		r, err := build(ctx, s, e.runtime(""))
		want := `feature "$(touch x)" is not a valid cargo feature: use a name of letters, digits, _, -, + and ., or package/feature, or dep:package, and separate features with commas`
		if err == nil || err.Error() != want {
			t.Fatalf("error %v\nwant %s", err, want)
		}
		if r != nil && (r.Solve != nil || r.Builder != nil) {
			t.Fatal("the builder image was read or BuildKit ran despite the refusal")
		}
	})
	t.Run("a dist directory of the user's is refused and kept", func(t *testing.T) {
		ws := fixtures.CopyTree(t, testdataApp)
		home := t.TempDir()
		fixtures.WriteFile(t, home, ".bashrc", "alias ll='ls -l'\n")
		fixtures.WriteFile(t, home, "linux_amd64/app", "not a build output\n")
		s := e.settings(ws, "linux/amd64", e.image("app"))
		s.Dist = str(home)
		r, err := build(ctx, s, e.runtime(""))
		if err == nil || !strings.Contains(err.Error(), home+" is a non-empty directory muslrust-chef did not write") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("error %v", err)
		}
		if r != nil && r.Solve != nil {
			t.Fatalf("BuildKit ran %d steps before the output was checked", len(r.Solve.Vertexes))
		}
		for name, want := range map[string]string{".bashrc": "alias ll='ls -l'\n", "linux_amd64/app": "not a build output\n"} {
			if b, err := os.ReadFile(filepath.Join(home, name)); err != nil || string(b) != want {
				t.Errorf("%s changed: %q %v", name, b, err)
			}
		}
	})
	t.Run("unreachable builder", func(t *testing.T) {
		s := e.settings(fixtures.CopyTree(t, testdataApp), "linux/amd64", e.image("app"))
		s.Builder = str("127.0.0.1:1/nothing/builder:1")
		_, err := build(ctx, s, e.runtime(""))
		if err == nil || !strings.Contains(err.Error(), "builder image 127.0.0.1:1/nothing/builder:1 is unreachable") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("error %v", err)
		}
	})
}

// amd64OnlyBuilder pushes a stand-in's amd64 image alone.
func amd64OnlyBuilder(t *testing.T, e *env, builder string) string {
	t.Helper()
	idx, err := remote.Index(mustRef(t, builder))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.Architecture == "amd64" {
			img, err := idx.Image(m.Digest)
			if err != nil {
				t.Fatal(err)
			}
			ref := e.registry + "/" + standin.MuslRepository + ":amd64-only"
			if err := remote.Write(mustRef(t, ref), img); err != nil {
				t.Fatal(err)
			}
			return ref
		}
	}
	t.Fatal("stand-in has no amd64 image")
	return ""
}
