package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	controlapi "github.com/moby/buildkit/api/services/control"
	bkclient "github.com/moby/buildkit/client"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// rust:build with the split strategy and both platforms, from one command,
// over two buildkitds whose workers declare one platform each (the arm64
// one runs its steps under QEMU here, so the workspace is testdata/app; the
// builder is the glibc stand-in by reference, static glibc: its images come
// from Debian's packages alone, so they stay cached in the test registry
// while the musl stand-in is rebuilt for every change of the helper's
// sources). Set up first with
// MUSLRUST_CHEF_BUILDKIT_HOST_<ARCH>, then with a buildx builder's
// instance file (one node declared for amd64, one left for its native
// platform): each node builds its own platform only (its BuildKit's build
// history says so), with a cache ref per platform, the log says which node
// built what, the index has both platforms and the binaries are static. Then the arm64 node goes down: one line naming it, exit 1, nothing
// built, no tag pushed, dist untouched.
func TestSplitOverTwoBuilders(t *testing.T) {
	testinfra.RequireArm64(t)
	t.Setenv("MUSLRUST_CHEF_LIBC", "gnu")
	e := newGlibcCrossEnv(t)
	amd := testinfra.StartBuildkitd(t, testinfra.WithPlatforms("linux/amd64"))
	arm := testinfra.StartBuildkitd(t, testinfra.WithPlatforms("linux/arm64"))
	ws := fixtures.CopyTree(t, testdataApp)
	ctx := context.Background()
	// Nothing of this machine's own BuildKit set-up may take part.
	t.Setenv("BUILDKIT_HOST", "")
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("MUSLRUST_CHEF_CACHE", "")

	image := e.image("app")
	s := e.settings(ws, "linux/amd64,linux/arm64", image)
	s.Strategy = str(StrategySplit)
	s.Cache = nil // the derived per-platform refs next to the image
	// What the targets do: the connection options from the environment.
	runtime := func() []Option {
		t.Helper()
		bk, err := config.BuildkitOptions()
		if err != nil {
			t.Fatal(err)
		}
		rt := e.runtime("")
		return append(rt[1:], WithConnectOptions(append(bk, buildkit.WithProgress(e.progress, "plain"))...))
	}
	check := func(what string, r *Result, wantNodes map[string]string, log string) {
		t.Helper()
		if r.Strategy != StrategySplit || len(r.Nodes) != 2 {
			t.Fatalf("%s: strategy %q over %d nodes, want split over 2", what, r.Strategy, len(r.Nodes))
		}
		for _, ns := range r.Nodes {
			p := ns.Platform.String()
			addr := map[string]string{"linux/amd64": amd.Addr, "linux/arm64": arm.Addr}[p]
			line := fmt.Sprintf("split: %s on node %s (%s, ", p, wantNodes[p], addr)
			if !strings.Contains(log, line) {
				t.Errorf("%s: the log has no line %q", what, line)
			}
			if ns.Endpoint.Address != addr || ns.Endpoint.Native() != p {
				t.Errorf("%s: %s built on %s (native %s), want %s", what, p, ns.Endpoint.Address, ns.Endpoint.Native(), addr)
			}
			if !strings.HasSuffix(ns.Cache.Rest.To, "-"+ns.Platform.OS+"-"+ns.Platform.Arch) || ns.Cache.Cook.To != ns.Cache.Rest.To+"-cook" {
				t.Errorf("%s: %s exported its cache to %q and %q, want refs of its own platform", what, p, ns.Cache.Rest.To, ns.Cache.Cook.To)
			} else {
				for _, ref := range []string{ns.Cache.Rest.To, ns.Cache.Cook.To} {
					if _, err := remote.Head(mustRef(t, ref)); err != nil {
						t.Errorf("%s: %s's cache ref %s: %v", what, p, ref, err)
					}
				}
			}
			builds := 0
			for _, v := range ns.Solve.Vertexes {
				if isStageRun(v.Name, app.StageBuild, "") {
					builds++
				}
			}
			if builds != 1 {
				t.Errorf("%s: node of %s ran %d build steps, want 1", what, p, builds)
			}
			bin := filepath.Join(ws, "dist", ns.Platform.DistDir(), "app")
			if res, err := elfcheck.VerifyLibc(bin, ns.Platform, elfcheck.Glibc); err != nil || res.Libc != elfcheck.Glibc {
				t.Errorf("%s: %s: %+v %v", what, bin, res, err)
			}
			if !strings.Contains(log, "build: "+bin+" verified static, glibc") {
				t.Errorf("%s: the build log does not say %s was verified", what, bin)
			}
			var lines []string
			for _, l := range want(ns.Platform.Arch, "v1") {
				lines = append(lines, strings.Replace(l, "-musl", "-gnu", 1))
			}
			checkOutput(t, what+" "+p+" binary", runBinary(t, bin), lines)
		}
		if tn := r.Timings.Nodes; len(tn) != 2 || tn[0].Node != r.Nodes[0].Node.Name || !r.Timings.Build.Seen {
			t.Errorf("%s: timings %+v, want both nodes' solves and their union", what, r.Timings)
		}
		got := indexManifests(t, r.Published.Reference)
		if len(got) != 2 {
			t.Errorf("%s: published %s holds %v, want linux/amd64 and linux/arm64", what, r.Published.Reference, got)
		}
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			if _, ok := got[p]; !ok {
				t.Errorf("%s: the index lacks %s: %v", what, p, got)
			}
		}
		// Each BuildKit's own history: every solve it ran was for its platform.
		for p, addr := range map[string]string{"linux/amd64": amd.Addr, "linux/arm64": arm.Addr} {
			for _, other := range solvedPlatforms(t, addr) {
				if other != p {
					t.Errorf("%s: the %s node also built %q", what, p, other)
				}
			}
		}
	}

	// 1. One host per architecture.
	t.Setenv("MUSLRUST_CHEF_BUILDKIT_HOST_AMD64", amd.Addr)
	t.Setenv("MUSLRUST_CHEF_BUILDKIT_HOST_ARM64", arm.Addr)
	start := time.Now()
	r, err := build(ctx, s, runtime())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("split over two builders (hosts per architecture, fresh nodes) took %s", time.Since(start).Round(time.Second))
	check("per-architecture hosts", r, map[string]string{"linux/amd64": `"amd64"`, "linux/arm64": `"arm64"`}, e.log.String())
	for _, p := range []string{"amd64", "arm64"} {
		if !strings.Contains(e.progress.String(), "["+p+"] #") {
			t.Errorf("BuildKit's progress has no line of node %s", p)
		}
	}

	// 2. The current buildx builder: an instance file as `docker buildx
	// create --name multi --driver remote --platform linux/amd64 <amd>`,
	// then `--append --node arm <arm>` (no --platform: its BuildKit's
	// native platform decides) and `docker buildx use --global multi`
	// leave it.
	t.Setenv("MUSLRUST_CHEF_BUILDKIT_HOST_AMD64", "")
	t.Setenv("MUSLRUST_CHEF_BUILDKIT_HOST_ARM64", "")
	cfgDir := os.Getenv("DOCKER_CONFIG")
	writeBuildxFiles(t, cfgDir, `{"Name":"multi","Driver":"remote","Nodes":[`+
		`{"Name":"multi0","Endpoint":"`+amd.Addr+`","Platforms":[{"architecture":"amd64","os":"linux"}],"DriverOpts":null,"Flags":null,"Files":null},`+
		`{"Name":"arm","Endpoint":"`+arm.Addr+`","Platforms":null,"DriverOpts":null,"Flags":null,"Files":null}],"Dynamic":false}`)
	logStart := len(e.log.String())
	start = time.Now()
	r, err = build(ctx, s, runtime())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("split over two builders (buildx builder, nothing changed) took %s", time.Since(start).Round(time.Second))
	log := e.log.String()[logStart:]
	check("buildx builder", r, map[string]string{"linux/amd64": `"multi0"`, "linux/arm64": `"arm"`}, log)
	if !strings.Contains(log, `split: linux/arm64 on node "arm" (`+arm.Addr+`, buildx builder "multi"; its native platform)`) {
		t.Errorf("the log does not say arm64 went to the arm node for its native platform:\n%s", e.log.String())
	}
	// Nothing changed since set-up 1 (dist, now filled, stays out of the
	// build context): each node's cook and build are cached, and
	// verify's line says so from that node's solve.
	for _, p := range []platform.Platform{amd64(), arm64()} {
		for _, stage := range []string{app.StageCook, app.StageBuild} {
			if v, ok := r.StageRun(stage, p.String()); !ok || !v.Cached {
				t.Errorf("%s: %s step with nothing changed: found %t, cached %t", p, stage, ok, v.Cached)
			}
		}
		bin := filepath.Join(ws, "dist", p.DistDir(), "app")
		if !regexp.MustCompile(regexp.QuoteMeta("build: "+bin+" verified static, glibc, ") + `[^\n]*\(cook reused from cache\)\n`).MatchString(log) {
			t.Errorf("verify's line for %s does not say its node reused the cook step:\n%s", p, log)
		}
	}

	// rust:cook spreads the same way (no dist), each node's cook cached.
	logStart = len(e.log.String())
	if _, err := cook(ctx, s, runtime()); err != nil {
		t.Fatal(err)
	}
	log = e.log.String()[logStart:]
	for _, want := range []string{`split: linux/amd64 on node "multi0" (`, `split: linux/arm64 on node "arm" (`,
		"cook: linux/amd64 reused from cache", "cook: linux/arm64 reused from cache"} {
		if !strings.Contains(log, want) {
			t.Errorf("rust:cook over two builders: the log has no %q:\n%s", want, log)
		}
	}

	// 3. The arm64 node is down.
	before := treeOf(t, filepath.Join(ws, "dist"))
	amdHistory := len(solvedPlatforms(t, amd.Addr))
	arm.Stop()
	down := s
	tag := fmt.Sprintf("down-%d", time.Now().UnixNano())
	down.Image = str(image[:strings.LastIndex(image, ":")] + ":" + tag)
	replaceIn(t, filepath.Join(ws, "crates/app/src/main.rs"), `"hello from app v1"`, `"hello from app v2"`)
	_, err = build(ctx, down, runtime())
	if err == nil {
		t.Fatal("a build with its arm64 node down succeeded")
	}
	msg := err.Error()
	wantMsg := `BuildKit node "arm" of buildx builder "multi" (` + arm.Addr + `) is down: `
	if !strings.HasPrefix(msg, wantMsg) || strings.Contains(msg, "\n") || !strings.Contains(msg, "MUSLRUST_CHEF_BUILDKIT_HOST_ARM64") ||
		!strings.Contains(msg, "docker buildx create --leave --name multi --node arm") {
		t.Errorf("error %q, want one line starting %q, naming MUSLRUST_CHEF_BUILDKIT_HOST_ARM64", msg, wantMsg)
	}
	if option.Usage(err) {
		t.Errorf("a node that is down exits 2 (usage); want 1: %v", err)
	}
	if _, err := remote.Head(mustRef(t, *down.Image)); err == nil {
		t.Errorf("%s was pushed although a node was down", *down.Image)
	}
	if after := treeOf(t, filepath.Join(ws, "dist")); after != before {
		t.Errorf("dist changed although a node was down:\nbefore %s\nafter  %s", before, after)
	}
	if n := len(solvedPlatforms(t, amd.Addr)); n != amdHistory {
		t.Errorf("the amd64 node ran %d solves although the arm64 node was down", n-amdHistory)
	}
}

// writeBuildxFiles writes a builder instance and selects it globally, as
// buildx's store does ($DOCKER_CONFIG/buildx/instances/<name>, current).
func writeBuildxFiles(t *testing.T, dir, instance string) {
	t.Helper()
	root := filepath.Join(dir, "buildx")
	if err := os.MkdirAll(filepath.Join(root, "instances"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "instances", "multi"), []byte(instance), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "current"), []byte(`{"Key":"","Name":"multi","Global":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
}

// solvedPlatforms lists the platform of every solve in a BuildKit's build
// history.
func solvedPlatforms(t *testing.T, addr string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := bkclient.New(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stream, err := c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{EarlyExit: true})
	if err != nil {
		t.Fatalf("build history of %s: %v", addr, err)
	}
	var out []string
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("build history of %s: %v", addr, err)
		}
		if ev.Record != nil {
			out = append(out, ev.Record.FrontendAttrs["platform"])
		}
	}
	sort.Strings(out)
	return out
}

// treeOf is a directory's files with their sizes and modification times.
func treeOf(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %s; ", strings.TrimPrefix(p, dir), fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
