package pipeline

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/internal/bench"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// The benchmark's knobs (read here: a benchmark is a test, not a library).
const (
	benchRunsEnv  = "MUSLRUST_CHEF_BENCH_RUNS"  // runs per cell, default 3
	benchSizesEnv = "MUSLRUST_CHEF_BENCH_SIZES" // small, large or small,large (default)
	benchOutEnv   = "MUSLRUST_CHEF_BENCH_OUT"   // also write the table as Markdown to this file
	benchNoteEnv  = "MUSLRUST_CHEF_BENCH_NOTE"  // a note printed with the table ("loaded machine")
)

// The table's rows, in the order.
func benchRows() []*bench.Row {
	return []*bench.Row{
		{ID: "1", Measure: "cold kit rust:build, cross, both platforms, to the registry, default cache export", Anchor: "plain Dockerfile (COPY . ., one cargo build for both triples, FROM scratch + COPY), pushed by BuildKit", Goal: 1.05, Unit: "s", PerWorkspace: true},
		{ID: "2", Measure: "warm rust:build after a one-line edit (same BuildKit)", Anchor: "row 1's cold kit build", Goal: 0.03, Unit: "s", PerWorkspace: true},
		{ID: "3", Measure: "fresh BuildKit (builder pre-pulled) + registry cache, a second edit", Anchor: "row 1's cold kit build", Goal: 0.10, Unit: "s", PerWorkspace: true},
		{ID: "3i", Measure: "row 3 including the builder pull into the fresh BuildKit", Anchor: "row 1's cold kit build", Unit: "s", PerWorkspace: true},
		{ID: "4", Measure: "cross, both platforms, cold (row 1)", Anchor: "one platform (linux/amd64) native, cold", Goal: 1.1, Unit: "s", PerWorkspace: true},
		{ID: "5", Measure: "slim: ~10 MB binary, both platforms, to the registry", Anchor: "docker build FROM scratch + COPY, both platforms", Goal: 0.15, Unit: "s"},
		{ID: "5i", Measure: "slim to an OCI layout", Anchor: "docker build FROM scratch + COPY, both platforms", Unit: "s"},
		{ID: "6", Measure: "plan of a 200-member workspace (chef.NewPlan)", Goal: 30, Absolute: true, Unit: "ms"},
		{ID: "6i", Measure: "plan of the 200-member workspace", Anchor: "cargo metadata --no-deps (host cargo)", Unit: "ms"},
		{ID: "7", Measure: "split over two builders (two fresh BuildKit nodes, amd64 and arm64 under QEMU), cold", Anchor: "row 1 (cross on one BuildKit), cold", Goal: 1, Unit: "s", PerWorkspace: true},
		{ID: "+", Measure: "cache export of a warm run with no change: cook and rest refs (the kit)", Anchor: "one mode=max ref (the kit before issue 15), same BuildKit", Unit: "s", PerWorkspace: true},
	}
}

// BenchmarkTable is `go run mage.go bench`: issue 15's table. Every row is
// measured against its anchor in the same run (ratios per run, so drift
// cancels), on two workspaces generated here from Debian's crates (small:
// ~15 crates, large: ~80), MUSLRUST_CHEF_BENCH_RUNS runs per cell (median,
// min-max). The cold cells of a run and workspace (kit, plain, native)
// share one fresh buildkitd with the builder already pulled, their cache
// mounts emptied before each; the fresh-BuildKit cell gets one of its own;
// kit and plain alternate their order per run. The split row (QEMU, about
// 13 minutes) is measured in the first run only. It prints
// the table (and writes it as Markdown to MUSLRUST_CHEF_BENCH_OUT).
func BenchmarkTable(b *testing.B) {
	if f := flag.Lookup("test.benchtime"); f == nil || f.Value.String() != "1x" {
		b.Fatalf("run the table with -benchtime=1x (go run mage.go bench): it repeats its cells %s times itself", benchRunsEnv)
	}
	runs := 3
	if v := os.Getenv(benchRunsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("%s=%q: want a number of runs, 1 or more", benchRunsEnv, v)
		}
		runs = n
	}
	sizes, err := bench.ParseSizes(os.Getenv(benchSizesEnv))
	if err != nil {
		b.Fatalf("%s: %v", benchSizesEnv, err)
	}
	tab := bench.NewTable(runs, sizes, benchRows()...)
	tab.Note = os.Getenv(benchNoteEnv)
	e := newEnvWith(b, bench.Builder)
	ctx := context.Background()

	// The workspaces, locked once by the builder's own cargo.
	generated := map[bench.Size]*bench.Workspace{}
	for _, z := range sizes {
		w, err := bench.Generate(filepath.Join(b.TempDir(), string(z)), z)
		if err != nil {
			b.Fatal(err)
		}
		bk, err := buildkit.Connect(ctx, buildkit.WithHost(e.bkHost), buildkit.WithProgress(e.progress, "plain"))
		if err != nil {
			b.Fatal(err)
		}
		n, err := bench.Lock(ctx, bk, e.builder, w)
		bk.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s workspace: %d packages in Cargo.lock (builder %s)", z, n, e.builder)
		generated[z] = w
	}
	members := b.TempDir()
	if err := bench.GenerateMembers(members, 200); err != nil {
		b.Fatal(err)
	}

	for run := 1; run <= runs; run++ {
		for _, z := range sizes {
			w := copyWorkspace(b, generated[z])
			image := fmt.Sprintf("%s/muslrust-chef-bench/%s-%d:run%d", e.registry, z, time.Now().UnixNano(), run)
			var kit kitRun
			b.Run(fmt.Sprintf("run%d/%s", run, z), func(b *testing.B) {
				// One buildkitd, the builder pulled once, for the cold cells
				// of this run and workspace: their build graphs share nothing
				// but the builder, and each starts with no cache mount.
				host, _ := freshBuildkitd(b, e)
				cells := []func(){
					func() { b.Run("kit", func(b *testing.B) { benchKit(b, e, w, image, host, &kit) }) },
					func() { b.Run("plain", func(b *testing.B) { kit.plain = benchPlain(b, e, w, e.registry, host) }) },
				}
				if run%2 == 0 { // kit first in odd runs, plain first in even ones
					cells[0], cells[1] = cells[1], cells[0]
				}
				for _, c := range cells {
					c()
				}
				b.Run("fresh", func(b *testing.B) { kit.fresh, kit.pull = benchFresh(b, e, w, image) })
				b.Run("native", func(b *testing.B) { kit.native = benchNative(b, e, w, e.registry, host) })
				// The arm64 node runs cargo under QEMU (13 minutes for the
				// small workspace here): small only, first run only.
				if z == bench.Small && run == 1 {
					b.Run("split", func(b *testing.B) { kit.split = benchSplit(b, e, w, e.registry) })
				}
			})
			if b.Failed() {
				return
			}
			tab.Add("1", z, kit.cold, kit.plain)
			tab.Add("2", z, kit.warm, kit.cold)
			tab.Add("3", z, kit.fresh, kit.cold)
			tab.Add("3i", z, kit.fresh+kit.pull, kit.cold)
			tab.Add("4", z, kit.cold, kit.native)
			tab.Add("+", z, kit.export, kit.maxExport)
			if kit.split > 0 {
				tab.Add("7", z, kit.split, kit.cold)
			}
			// Printed at once (b.Logf would hold it until the table ends), so a
			// run cut short still leaves its figures.
			fmt.Fprintf(os.Stdout, "bench: run %d %s: cold %s, plain %s, warm %s, no-change %s (cache export %s, one max ref %s), fresh %s (+ pull %s), native amd64 %s, split %s\n", run, z,
				kit.cold.Round(100*time.Millisecond), kit.plain.Round(100*time.Millisecond), kit.warm.Round(100*time.Millisecond),
				kit.noChange.Round(100*time.Millisecond), kit.export.Round(10*time.Millisecond), kit.maxExport.Round(10*time.Millisecond), kit.fresh.Round(100*time.Millisecond),
				kit.pull.Round(100*time.Millisecond), kit.native.Round(100*time.Millisecond), kit.split.Round(100*time.Millisecond))
		}
		b.Run(fmt.Sprintf("run%d/slim", run), func(b *testing.B) {
			oci, reg, docker := benchSlim(b, e.registry, run)
			tab.Add("5", sizes[0], reg, docker)
			tab.Add("5i", sizes[0], oci, docker)
		})
		b.Run(fmt.Sprintf("run%d/plan", run), func(b *testing.B) {
			plan, metadata := benchPlan(b, members)
			tab.Add("6", sizes[0], plan, 0)
			tab.Add("6i", sizes[0], plan, metadata)
		})
	}

	var text bytes.Buffer
	tab.Text(&text)
	fmt.Fprintf(os.Stdout, "\n%s\n", text.String())
	if out := os.Getenv(benchOutEnv); out != "" {
		var md bytes.Buffer
		tab.Markdown(&md)
		if err := atomicdir.WriteFile(out, 0o644, atomicdir.FileOptions{}, func(w io.Writer) error { _, err := w.Write(md.Bytes()); return err }); err != nil {
			b.Fatalf("%s: %v", benchOutEnv, err)
		}
		fmt.Fprintf(os.Stdout, "table written to %s\n", out)
	}
}

// logTimings prints a measured build's own timing breakdown (the
// timings: line every rust:build logs), so that a ratio the table misses
// comes with where the time went.
func logTimings(cell string, r *Result) {
	fmt.Fprintf(os.Stdout, "bench: %s: %s\n", cell, r.Timings.Line())
}

// kitRun is one run's kit measurements on one workspace.
type kitRun struct {
	cold, warm, noChange, export, maxExport, fresh, pull, plain, native, split time.Duration
}

// copyWorkspace is a fresh copy of a generated workspace for one run (its
// edits and dist/ stay in that run).
func copyWorkspace(b *testing.B, w *bench.Workspace) *bench.Workspace {
	root := fixtures.CopyTree(b, w.Root)
	c := *w
	c.Root, c.Dir, c.EditFile = root, filepath.Join(root, "ws"), filepath.Join(root, "ws", "crates", "app", "src", "main.rs")
	return &c
}

// benchSettings is rust:build as a user runs it on w: both platforms, the
// builder's declaration picks the strategy (cross), registry output with
// the default cache (a ref next to image), one binary shipped.
func benchSettings(e *env, w *bench.Workspace, image, platforms string) Settings {
	return Settings{
		Workspace: str(w.Dir), Platforms: str(platforms), Image: str(image), Bin: str(w.Bin),
		Builder: str(e.builder), Base: str("scratch"), Dist: str(filepath.Join(w.Dir, "dist")), Output: str("registry"),
	}
}

// freshBuildkitd starts an empty buildkitd and pulls the builder into it
// (returned: how long that took), so that no measured build but row 3i
// pays for it.
func freshBuildkitd(b *testing.B, e *env) (string, time.Duration) {
	host := testinfra.FreshBuildkitd(b)
	return host, pullBuilder(b, e, host, "linux/amd64")
}

// pruneCacheMounts empties the cache mounts of the buildkitd at host (zig's
// global cache), so that a cold cell does not start from what the cell
// before it compiled.
func pruneCacheMounts(b *testing.B, host string) {
	out, err := exec.Command(testinfra.Tool(b, "buildctl"), "--addr", host, "prune", "--filter", "type==exec.cachemount").CombinedOutput()
	if err != nil {
		b.Fatalf("buildctl prune of the cache mounts: %v: %s", err, out)
	}
}

// pullBuilder pulls and unpacks the builder's image for platform into the
// buildkitd at host, and returns how long that took.
func pullBuilder(b *testing.B, e *env, host, platform string) time.Duration {
	bk, err := buildkit.Connect(context.Background(), buildkit.WithHost(host), buildkit.WithProgress(e.progress, "plain"))
	if err != nil {
		b.Fatal(err)
	}
	defer bk.Close()
	start := time.Now()
	if _, err := bk.Solve(context.Background(), buildkit.Request{ContextDir: b.TempDir(), DockerfileContent: []byte(warmupDockerfile),
		Platforms: []string{platform}, BuildArgs: map[string]string{"BUILDER_IMAGE": e.builder}, Insecure: true}); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// warmupDockerfile pulls and unpacks the builder's image into a fresh
// buildkitd, so that no measured build pays for that.
const warmupDockerfile = `ARG BUILDER_IMAGE
FROM ${BUILDER_IMAGE}
RUN true
`

// benchKit: the cold build, the warm rebuild after a one-line edit (the
// cook step must come from cache), and a warm rebuild with no change
// (its cache export measured apart), on one fresh buildkitd.
func benchKit(b *testing.B, e *env, w *bench.Workspace, image, host string, k *kitRun) {
	pruneCacheMounts(b, host)
	ctx := context.Background()
	s := benchSettings(e, w, image, "linux/amd64,linux/arm64")
	b.ResetTimer()
	start := time.Now()
	r, err := build(ctx, s, e.runtime(host))
	if err != nil {
		b.Fatal(err)
	}
	logTimings(string(w.Size)+" cold", r)
	k.cold = time.Since(start)
	if r.Strategy != StrategyCross {
		b.Fatalf("strategy %q, want cross (the builder declares both platforms)", r.Strategy)
	}
	if v, ok := r.StageRun("cook", ""); !ok || v.Cached {
		b.Fatalf("the cold build's cook step: found %t, cached %t; a cold measurement must compile", ok, v.Cached)
	}
	if err := w.Edit(); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	r, err = build(ctx, s, e.runtime(host))
	if err != nil {
		b.Fatal(err)
	}
	logTimings(string(w.Size)+" warm", r)
	k.warm = time.Since(start)
	if v, ok := r.StageRun("cook", ""); !ok || !v.Cached {
		b.Fatalf("the warm rebuild reran the cook step")
	}
	start = time.Now()
	r, err = build(ctx, s, e.runtime(host))
	if err != nil {
		b.Fatal(err)
	}
	logTimings(string(w.Size)+" no change", r)
	k.noChange = time.Since(start)
	_, k.export = cacheExports(r.Solve)
	_, cook := cacheExports(r.CookExport) // none when the cook was reused
	k.export += cook
	b.StopTimer()
	// The same no-change run with one mode=max ref, on the same BuildKit:
	// the first solve fills the new ref, the second is measured.
	ref := strings.SplitN(image, ":run", 2)[0] + "-maxref:c"
	solveOneMaxRef(b, e, s, host, ref)
	_, k.maxExport = cacheExports(solveOneMaxRef(b, e, s, host, ref))
	b.ReportMetric(k.cold.Seconds(), "cold-s")
	b.ReportMetric(k.warm.Seconds(), "warm-s")
}

// benchPlain builds and pushes the plain Dockerfile on a fresh buildkitd;
// its cargo step must not come from cache.
func benchPlain(b *testing.B, e *env, w *bench.Workspace, registry, host string) time.Duration {
	pruneCacheMounts(b, host)
	ctx := context.Background()
	bk, err := buildkit.Connect(ctx, buildkit.WithHost(host), buildkit.WithProgress(e.progress, "plain"))
	if err != nil {
		b.Fatal(err)
	}
	defer bk.Close()
	df := bench.PlainDockerfile(w.Bin, []bench.PlainTarget{{Arch: "amd64", Triple: "x86_64-unknown-linux-musl"}, {Arch: "arm64", Triple: "aarch64-unknown-linux-musl"}})
	ref := fmt.Sprintf("%s/muslrust-chef-bench/plain-%s-%d:1", registry, w.Size, time.Now().UnixNano())
	b.ResetTimer()
	start := time.Now()
	res, err := bk.Solve(ctx, buildkit.Request{ContextDir: w.Root, DockerfileContent: []byte(df), Platforms: []string{"linux/amd64", "linux/arm64"},
		BuildArgs: map[string]string{"BUILDER": e.builder}, Image: &buildkit.ImageOutput{Names: []string{ref}, Push: true}, Insecure: true})
	if err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	b.StopTimer()
	ran := false
	for _, v := range res.Vertexes {
		if strings.Contains(v.Name, "cargo build --release") {
			if v.Cached {
				b.Fatalf("the plain build took cargo from cache: %s", v.Name)
			}
			ran = true
		}
	}
	if !ran {
		b.Fatalf("the plain build has no cargo build step")
	}
	b.ReportMetric(d.Seconds(), "plain-s")
	return d
}

// benchFresh: a second edit built on a new buildkitd that has only the
// builder (its pull timed apart) and the registry cache the kit cell
// exported; the cook step must come from that cache.
func benchFresh(b *testing.B, e *env, w *bench.Workspace, image string) (fresh, pull time.Duration) {
	host, pull := freshBuildkitd(b, e)
	if err := w.Edit(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	r, err := build(context.Background(), benchSettings(e, w, image, "linux/amd64,linux/arm64"), e.runtime(host))
	if err != nil {
		b.Fatal(err)
	}
	logTimings(string(w.Size)+" fresh", r)
	fresh = time.Since(start)
	b.StopTimer()
	if v, ok := r.StageRun("cook", ""); !ok || !v.Cached {
		b.Fatalf("the fresh BuildKit reran the cook step: the registry cache was not used")
	}
	b.ReportMetric(fresh.Seconds(), "fresh-s")
	return fresh, pull
}

// benchNative: the same workspace for linux/amd64 alone, built natively
// (emulate strategy on an amd64 host), cold.
func benchNative(b *testing.B, e *env, w *bench.Workspace, registry, host string) time.Duration {
	pruneCacheMounts(b, host)
	image := fmt.Sprintf("%s/muslrust-chef-bench/native-%s-%d:1", registry, w.Size, time.Now().UnixNano())
	s := benchSettings(e, w, image, "linux/amd64")
	s.Strategy = str(StrategyEmulate)
	b.ResetTimer()
	start := time.Now()
	r, err := build(context.Background(), s, e.runtime(host))
	if err != nil {
		b.Fatal(err)
	}
	logTimings(string(w.Size)+" native", r)
	d := time.Since(start)
	b.StopTimer()
	if v, ok := r.StageRun("cook", "linux/amd64"); !ok || v.Cached {
		b.Fatalf("the native build's cook step: found %t, cached %t; a cold measurement must compile", ok, v.Cached)
	}
	b.ReportMetric(d.Seconds(), "native-s")
	return d
}

// benchSplit: the small workspace over two fresh buildkitds, one declaring
// linux/amd64 and one linux/arm64 (its steps run under QEMU on an amd64
// host), each with the builder pulled first; split strategy, one command.
func benchSplit(b *testing.B, e *env, w *bench.Workspace, registry string) time.Duration {
	amd := testinfra.StartBuildkitd(b, testinfra.WithPlatforms("linux/amd64"))
	arm := testinfra.StartBuildkitd(b, testinfra.WithPlatforms("linux/arm64"))
	for _, n := range []struct{ addr, p string }{{amd.Addr, "linux/amd64"}, {arm.Addr, "linux/arm64"}} {
		pullBuilder(b, e, n.addr, n.p)
	}
	image := fmt.Sprintf("%s/muslrust-chef-bench/split-%s-%d:1", registry, w.Size, time.Now().UnixNano())
	s := benchSettings(e, w, image, "linux/amd64,linux/arm64")
	s.Strategy = str(StrategySplit)
	opts := append(e.runtime("")[1:], WithConnectOptions(buildkit.WithPlatformHost("linux/amd64", amd.Addr, "bench"),
		buildkit.WithPlatformHost("linux/arm64", arm.Addr, "bench"), buildkit.WithProgress(e.progress, "plain")))
	b.ResetTimer()
	start := time.Now()
	r, err := build(context.Background(), s, opts)
	if err != nil {
		b.Fatal(err)
	}
	logTimings(string(w.Size)+" split", r)
	d := time.Since(start)
	b.StopTimer()
	if r.Strategy != StrategySplit || len(r.Nodes) != 2 {
		b.Fatalf("strategy %q over %d nodes, want split over 2", r.Strategy, len(r.Nodes))
	}
	b.ReportMetric(d.Seconds(), "split-s")
	return d
}

// benchSlim publishes a two-platform image of a ~10 MB binary with slim
// (to an OCI layout and to the local registry) and builds the equivalent
// FROM scratch + COPY Dockerfile for both platforms with docker build on
// the local daemon.
func benchSlim(b *testing.B, registry string, run int) (oci, reg, docker time.Duration) {
	testinfra.DockerSocket(b)
	dockerCLI := dockerWithBuildKit(b)
	dist := makeDist(b, "app", map[string]string{
		"amd64": fixtures.GoStaticLarge(b, "amd64"),
		"arm64": fixtures.GoStaticLarge(b, "arm64"),
	})
	if st, err := os.Stat(filepath.Join(dist, "linux_amd64", "app")); err == nil {
		b.Logf("binary size: %.1f MB", float64(st.Size())/(1<<20))
	}
	ctxDir := b.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		data, err := os.ReadFile(filepath.Join(dist, "linux_"+arch, "app"))
		if err == nil {
			err = os.WriteFile(filepath.Join(ctxDir, "app-"+arch), data, 0o755)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	dockerfile := "FROM scratch\nARG TARGETARCH\nCOPY --chown=65532:65532 app-${TARGETARCH} /usr/local/bin/app\nUSER 65532:65532\nENTRYPOINT [\"/usr/local/bin/app\"]\n"
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		b.Fatal(err)
	}
	host := hostPlatform(b)
	ctx := context.Background()
	b.ResetTimer()

	start := time.Now()
	if _, err := ship(ctx, shipReq{Platforms: both(b), Dist: dist, Base: publish.Scratch, Output: publish.Output{Kind: "oci", Path: filepath.Join(b.TempDir(), "oci")},
		Image: "bench/app:1", Host: host, Stdout: &bytes.Buffer{}}); err != nil {
		b.Fatal(err)
	}
	oci = time.Since(start)

	start = time.Now()
	if _, err := ship(ctx, shipReq{Platforms: both(b), Dist: dist, Base: publish.Scratch, Output: publish.Output{Kind: "registry"},
		Image: fmt.Sprintf("%s/muslrust-chef-bench/slim-%d-%d:1", registry, time.Now().UnixNano(), run), Host: host, Stdout: &bytes.Buffer{}}); err != nil {
		b.Fatal(err)
	}
	reg = time.Since(start)

	start = time.Now()
	for _, p := range both(b) {
		tag := fmt.Sprintf("muslrust-chef-bench/docker-%s:%d", p.Arch, run)
		cmd := exec.Command(dockerCLI, "build", "--no-cache", "-q", "--platform", p.String(), "-t", tag, ctxDir)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("docker build: %v\n%s", err, out)
		}
		b.Cleanup(func() { exec.Command(dockerCLI, "rmi", "-f", tag).Run() })
	}
	docker = time.Since(start)
	b.StopTimer()
	b.ReportMetric(reg.Seconds()/docker.Seconds(), "registry/docker")
	return oci, reg, docker
}

// benchPlan plans the 200-member workspace at dir (the mean of 10 plans
// after one that warms the page cache) and runs `cargo metadata --no-deps`
// on it with the host's cargo (the best of 3).
func benchPlan(b *testing.B, dir string) (plan, metadata time.Duration) {
	if _, n, err := bench.PlanOnce(dir); err != nil || n != 200 {
		b.Fatalf("planned %d packages (%v), want 200", n, err)
	}
	b.ResetTimer()
	const times = 10
	for i := 0; i < times; i++ {
		d, _, err := bench.PlanOnce(dir)
		if err != nil {
			b.Fatal(err)
		}
		plan += d
	}
	plan /= times
	b.StopTimer()
	cargoBin := testinfra.Tool(b, "cargo")
	metadata = time.Duration(1<<63 - 1)
	for i := 0; i < 3; i++ {
		cmd := exec.Command(cargoBin, "metadata", "--no-deps", "--offline", "--format-version=1")
		cmd.Dir = dir
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("cargo metadata: %v\n%.2000s", err, out)
		}
		if d := time.Since(start); d < metadata {
			metadata = d
		}
	}
	b.ReportMetric(float64(plan.Microseconds())/1000, "plan-ms")
	return plan, metadata
}

// dockerWithBuildKit finds a docker CLI whose docker build speaks BuildKit
// without the buildx plugin: Debian's docker.io client does, a newer static
// client earlier on PATH may not.
func dockerWithBuildKit(b *testing.B) string {
	for _, candidate := range []string{"/usr/bin/docker", "docker"} {
		path, err := exec.LookPath(candidate)
		if err != nil {
			continue
		}
		cmd := exec.Command(path, "build", "--help")
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=1")
		if cmd.Run() == nil {
			return path
		}
	}
	testinfra.Missing(b, "no docker CLI that can run docker build with BuildKit", "install Debian's docker.io")
	return ""
}
