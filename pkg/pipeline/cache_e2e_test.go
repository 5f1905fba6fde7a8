package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

// cacheExports are the cache export steps of a solve ("exporting cache to
// registry") and how long they took together.
func cacheExports(res *buildkit.Result) (n int, took time.Duration) {
	if res == nil {
		return 0, 0
	}
	for _, v := range res.Vertexes {
		if strings.HasPrefix(v.Name, "exporting cache to ") {
			n++
			if v.Started != nil && v.Completed != nil {
				took += v.Completed.Sub(*v.Started)
			}
		}
	}
	return n, took
}

// cacheBytes is the size of what a registry cache ref holds: the blobs
// its manifest (BuildKit's image-manifest form) or index lists.
func cacheBytes(t testing.TB, ref string) int64 {
	n, _ := cacheLayers(t, ref)
	return n
}

// cacheLayers is cacheBytes and the number of layers per media type.
func cacheLayers(t testing.TB, ref string) (int64, map[string]int) {
	t.Helper()
	types := map[string]int{}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	var n int64
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		for _, m := range im.Manifests {
			n += m.Size
			types[string(m.MediaType)]++
		}
		return n, types
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	for _, l := range m.Layers {
		n += l.Size
		types[string(l.MediaType)]++
	}
	return n + m.Config.Size, types
}

// The default cross build with a registry cache exports the cook part
// (mode=max, ref <ref>-cook) by a second solve only when it is needed, and
// the rest (mode=min, <ref>) on every run: the first run exports both
// (the cook export finds the cook in BuildKit's cache: cargo does not run
// again); a run with no change and a run after an edit export no cook
// layer; a fresh BuildKit with nothing but the registry cache reuses the
// cook and compiles only the local crates, exporting no cook layer either.
func TestCookCacheExportedOnlyWhenCookRuns(t *testing.T) {
	e := newDefaultEnv(t)
	ws := fixtures.CopyTree(t, testdataCross)
	ctx := context.Background()
	cacheRef := fmt.Sprintf("%s/muslrust-chef-test/cross-cache:run-%d", e.registry, time.Now().UnixNano())
	cookRef := cacheRef + "-cook"
	s := e.crossSettings(ws, "linux/amd64,linux/arm64", e.image("crossapp"))
	s.Strategy = nil
	s.Cache = str(cacheRef)
	main := filepath.Join(ws, "crates/crossapp/src/main.rs")
	text := "hello from crossapp v1"
	edit := func() {
		old := text
		text = fmt.Sprintf("hello from crossapp v%d", time.Now().UnixNano()%1e9)
		replaceIn(t, main, `"`+old+`"`, `"`+text+`"`)
	}

	var log string
	run := func(what, host string) *Result {
		t.Helper()
		mark := len(e.log.String())
		start := time.Now()
		r, err := build(ctx, s, e.runtime(host))
		log = e.log.String()[mark:]
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, log)
		}
		n, took := cacheExports(r.Solve)
		cn, ctook := cacheExports(r.CookExport)
		t.Logf("%s took %s: build's cache export %d step(s) %s; cook export solve %s (%d step(s) %s), %s of it after the build", what, time.Since(start).Round(100*time.Millisecond),
			n, took.Round(10*time.Millisecond), r.CookExportTook.Round(10*time.Millisecond), cn, ctook.Round(10*time.Millisecond), r.CookExportWait.Round(10*time.Millisecond))
		if n != 1 {
			t.Errorf("%s: the build has %d cache export steps, want 1 (the rest, mode=min)", what, n)
		}
		if r.Strategy != StrategyCross {
			t.Fatalf("%s: strategy %s", what, r.Strategy)
		}
		want := "build: registry cache: cook import " + cookRef + ", export " + cookRef + " (mode=max, only when cook runs); rest import " + cacheRef + ", export " + cacheRef + " (mode=min)"
		if !strings.Contains(log, want) {
			t.Errorf("%s: the log does not say\n%s\n%s", what, want, log)
		}
		return r
	}

	// 1. The cook ref does not exist yet: whether the cook ran or came
	// from this BuildKit's cache (earlier tests), it is exported.
	edit()
	r := run("first run", "")
	if r.CookExport == nil {
		t.Fatalf("first run: no cook export:\n%s", log)
	}
	if !strings.Contains(log, "build: cook ran: exporting its cache to "+cookRef+" (mode=max) beside the build") &&
		!strings.Contains(log, "build: cook reused, but no cook cache was found at "+cookRef+": exporting it to "+cookRef+" (mode=max) beside the build") {
		t.Errorf("first run: the log does not say why the cook is exported:\n%s", log)
	}
	if !strings.Contains(log, "build: cook cache exported to "+cookRef+" in ") {
		t.Errorf("first run: the log does not say the cook was exported:\n%s", log)
	}
	// The cook export's own LLB differs from the build's (its local
	// sources belong to another session), so its cook step shows twice:
	// BuildKit's cache-key match of the build's, cached, and its own,
	// merged into it without starting.
	var cookSteps, cached int
	for _, v := range r.CookExport.Vertexes {
		if isStageRun(v.Name, app.StageCrossCook, "") {
			cookSteps++
			if v.Cached {
				cached++
			}
			if v.Executed() {
				t.Errorf("the cook export ran the cook again: %s", v.Name)
			}
		}
		if isStageRun(v.Name, app.StageCrossBuild, "") {
			t.Errorf("the cook export solved the build stage: %s", v.Name)
		}
	}
	if n, _ := cacheExports(r.CookExport); n != 1 || cookSteps == 0 || cached == 0 {
		t.Errorf("the cook export has %d cook steps (%d cached) and %d cache exports, want a cached one and 1 export", cookSteps, cached, n)
	}
	// mode=min also lists the layers under the result that already have a
	// blob (BuildKit's remote-only mode for dependencies): the cook's,
	// without compressing or uploading them again (same repository).
	t.Logf("cook cache %d bytes, rest cache %d bytes", cacheBytes(t, cookRef), cacheBytes(t, cacheRef))

	// 2. No change, same BuildKit: the cook cache is there, not exported.
	r = run("no change", "")
	if r.CookExport != nil || !strings.Contains(log, "build: cook reused and its cache is at "+cookRef+": no cook cache export") {
		t.Errorf("no change: cook export %v:\n%s", r.CookExport != nil, log)
	}

	// 3. An edit: the build step runs, the cook is reused, not exported.
	edit()
	r = run("edit", "")
	if v, ok := r.StageRun(app.StageCook, ""); !ok || !v.Cached {
		t.Errorf("edit: cook found %t cached %t", ok, v.Cached)
	}
	if r.CookExport != nil {
		t.Errorf("edit: the cook was exported again:\n%s", log)
	}

	// 4. A fresh BuildKit with only the registry cache, another edit: the
	// cook comes from <ref>-cook, only the local crates compile, and no
	// cook layer is exported.
	edit()
	r = run("fresh BuildKit after an edit", testinfra.FreshBuildkitd(t))
	if v, ok := r.StageRun(app.StageCook, ""); !ok || !v.Cached {
		t.Fatalf("fresh BuildKit: cook found %t cached %t; want it from %s\n%s", ok, v.Cached, cookRef, log)
	}
	if r.CookExport != nil {
		t.Errorf("fresh BuildKit: the imported cook was exported again:\n%s", log)
	}
	local, external := compiled(r.stageLogs(app.StageCrossBuild, ""))
	sort.Strings(local)
	if len(external) > 0 || len(local) == 0 {
		t.Errorf("fresh BuildKit compiled external crates %v (local %v)", external, local)
	}
	checkOutput(t, "amd64 binary", runBinary(t, filepath.Join(ws, "dist", "linux_amd64", "crossapp")), wantCrossMusl(amd64(), text))
}

// BenchmarkCacheExport measures what the cache export costs on
// testdata/cross (cross, both platforms, the musl stand-in as the
// builder), each design on a fresh BuildKit into a new repository: a cold
// build (the cook runs, its layers are compressed and uploaded), a run
// with no change and one after an edit. "one max ref" is the kit before
// the cook and rest refs: one mode=max ref, gzip (BuildKit's default); the
// compressions are those of the cook and rest refs. Run it alone:
//
//	go test -run='^$' -bench=BenchmarkCacheExport -benchtime=1x ./pkg/pipeline
//
// MUSLRUST_CHEF_BENCH_DESIGNS picks designs (comma-separated: max-gzip,
// split-gzip, split-zstd; default max-gzip,split-zstd).
func BenchmarkCacheExport(b *testing.B) {
	e := newMuslEnv(b)
	ctx := context.Background()
	defer func(a map[string]string) { cacheAttrs = a }(cacheAttrs)
	designs := "max-gzip,split-zstd"
	if d := os.Getenv("MUSLRUST_CHEF_BENCH_DESIGNS"); d != "" {
		designs = d
	}
	for _, design := range strings.Split(designs, ",") {
		kind, comp, _ := strings.Cut(design, "-")
		cacheAttrs = map[string]string{"compression": comp}
		if comp == "zstd" {
			cacheAttrs["compression-level"] = "3"
		}
		host := testinfra.FreshBuildkitd(b)
		ws := fixtures.CopyTree(b, testdataCross)
		repo := fmt.Sprintf("%s/muslrust-chef-test/cache-export-%s-%d", e.registry, design, time.Now().UnixNano())
		s := e.crossSettings(ws, "linux/amd64,linux/arm64", e.image("crossapp-cache-export"))
		s.Strategy, s.Cache = nil, str(repo+":c")
		text := "hello from crossapp v1"
		for _, step := range []string{"cold", "no change", "edit"} {
			if step == "edit" {
				next := fmt.Sprintf("hello from crossapp v%d", time.Now().UnixNano()%1e9)
				replaceIn(b, filepath.Join(ws, "crates/crossapp/src/main.rs"), `"`+text+`"`, `"`+next+`"`)
				text = next
			}
			start := time.Now()
			if kind == "max" {
				res := solveOneMaxRef(b, e, s, host, repo+":c")
				n, took := cacheExports(res)
				b.Logf("%-10s %-9s: solve %5.1fs; export (mode=max) %d step %.2fs, all of it in the solve", design, step, time.Since(start).Seconds(), n, took.Seconds())
				continue
			}
			r, err := build(ctx, s, e.runtime(host))
			if err != nil {
				b.Fatalf("%s %s: %v", design, step, err)
			}
			total := time.Since(start)
			n, took := cacheExports(r.Solve)
			_, ctook := cacheExports(r.CookExport)
			cook, _ := r.StageRun(app.StageCook, "")
			b.Logf("%-10s %-9s: run %5.1fs, cook %s; build's export (mode=min) %d step %.2fs; cook export solve %.2fs (its export step %.2fs), %.2fs of it after the build",
				design, step, total.Seconds(), ranOrCached(cook), n, took.Seconds(), r.CookExportTook.Seconds(), ctook.Seconds(), r.CookExportWait.Seconds())
			if (step == "cold") != (r.CookExport != nil) {
				b.Fatalf("%s %s: cook export %t", design, step, r.CookExport != nil)
			}
			if step == "cold" {
				// A fresh BuildKit compresses every cook layer anew, with
				// the compression asked for.
				size, types := cacheLayers(b, r.Cache.Cook.To)
				b.Logf("%-10s cook ref %s: %d bytes, layers %v", design, r.Cache.Cook.To, size, types)
				for mt := range types {
					if strings.Contains(mt, "layer") && !strings.HasSuffix(mt, comp) {
						b.Fatalf("%s: the cook ref has %s layers", design, mt)
					}
				}
			}
		}
	}
}

// solveOneMaxRef runs the build's solve as the kit did before the cook
// and rest refs: one registry ref imported and exported with mode=max
// (gzip, BuildKit's default), no cook export solve.
func solveOneMaxRef(b *testing.B, e *env, s Settings, host, ref string) *buildkit.Result {
	ctx := context.Background()
	c, ws, err := resolve(s)
	if err != nil {
		b.Fatal(err)
	}
	o := newOptions(append(e.runtime(host), WithWorkspace(ws)))
	planned, err := plan(ctx, planIn{Config: &c, What: "build", Workspace: o.workspace, Host: o.host, Log: o.log})
	if err != nil {
		b.Fatal(err)
	}
	sv, bk, req, done, err := setup(ctx, solveIn{Config: &c, Planned: planned, What: "build", Opts: o})
	defer done()
	if err != nil {
		b.Fatal(err)
	}
	sv.Cache = buildcache.Spec{}
	req.CacheFrom, req.CacheTo, req.CacheMode, req.CacheAttrs, req.CacheDirsFrom = []string{ref}, ref, "max", nil, nil
	if err := run(ctx, bk, o, req, &sv); err != nil {
		b.Fatal(err)
	}
	return sv.Solve
}
