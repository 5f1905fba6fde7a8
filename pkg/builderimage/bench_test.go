package builderimage_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/builderimage"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
)

// BenchmarkPushColdVsRegistryCache measures what image:push does for both
// platforms, end to end (cross-compiling the helper CLI, solving the real
// Dockerfile, pushing the index and exporting the cache), twice per
// iteration, each on a buildkitd started with an empty state directory:
//
//   - cold: nothing cached anywhere: an empty Go build cache (the helper and
//     the standard library are compiled for amd64 and arm64) and no cache
//     import;
//   - warm: a new builder (as on a fresh CI runner) importing the registry
//     cache the cold run exported, with the Go build cache the cold run
//     filled (what actions/setup-go restores).
//
// ratio = warm/cold (target <= 0.1). solve_ratio isolates BuildKit's part
// (first step started to last step completed), where the stand-in base
// makes the Dockerfile's own steps cheap; see the report for both.
func BenchmarkPushColdVsRegistryCache(b *testing.B) {
	registry := testinfra.Registry(b)
	testinfra.Buildkitd(b)
	base := testimages.Busybox(b)
	cleanEnv(b)
	b.Setenv("BUILDKIT_PROGRESS", "quiet")
	// As CI sets it from the commit time: reproducible digests, so the
	// warm push can be compared with the cold one.
	b.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	var cold, warm, coldSolve, warmSolve time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := uniq()
		repo := registry + "/muslrust-chef-test/bench-builder-" + id
		req, err := planPush(context.Background(), config.ImageSettings{
			Image: repo, Tags: "bench", MuslrustImage: base, ChefVersion: "none",
			CrossToolchain: "none",
			Cache:          repo + ":buildcache-bench", Revision: "bench", Version: "0.0.0-bench." + id,
		})
		if err != nil {
			b.Fatal(err)
		}
		goCache := filepath.Join(b.TempDir(), "gocache")
		req.GoEnv = []string{"GOCACHE=" + goCache}
		coldBK, warmBK := testinfra.FreshBuildkitd(b), testinfra.FreshBuildkitd(b)

		coldReq := req
		coldReq.Cache = buildcache.Refs{To: req.Cache.To} // nothing to import yet
		bc := connect(b, coldBK)
		b.StartTimer()
		start := time.Now()
		r1, err := builderimage.Push(context.Background(), bc, coldReq)
		d1 := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if executed, _ := steps(r1.Result); len(executed) == 0 {
			b.Fatal("the cold build executed no step")
		}

		warmReq := req
		warmReq.Cache = buildcache.Refs{From: req.Cache.From} // import only
		bw := connect(b, warmBK)
		b.StartTimer()
		start = time.Now()
		r2, err := builderimage.Push(context.Background(), bw, warmReq)
		d2 := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if executed, _ := steps(r2.Result); len(executed) > 0 {
			b.Fatalf("the warm build executed %q", executed)
		}
		if r2.Digest != r1.Digest {
			b.Errorf("warm build gave %s, cold %s", r2.Digest, r1.Digest)
		}
		os.RemoveAll(goCache)
		cold += d1
		warm += d2
		coldSolve += solveSpan(r1.Result)
		warmSolve += solveSpan(r2.Result)
	}
	n := float64(b.N)
	b.ReportMetric(cold.Seconds()/n, "cold_s")
	b.ReportMetric(warm.Seconds()/n, "warm_s")
	b.ReportMetric(warm.Seconds()/cold.Seconds(), "ratio")
	b.ReportMetric(coldSolve.Seconds()/n, "cold_solve_s")
	b.ReportMetric(warmSolve.Seconds()/n, "warm_solve_s")
	b.ReportMetric(warmSolve.Seconds()/coldSolve.Seconds(), "solve_ratio")
}

// solveSpan is the time from the first build step starting to the last one
// completing, as BuildKit reported them.
func solveSpan(res *buildkit.Result) time.Duration {
	var first, last time.Time
	for _, v := range res.Vertexes {
		if v.Started != nil && (first.IsZero() || v.Started.Before(first)) {
			first = *v.Started
		}
		if v.Completed != nil && v.Completed.After(last) {
			last = *v.Completed
		}
	}
	if first.IsZero() || last.Before(first) {
		return 0
	}
	return last.Sub(first)
}
