package pipeline

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
)

// plainDockerfile is the same build without a cook stage: COPY . . then
// cargo build, with the very same cargo flags.
const plainDockerfile = `ARG BUILDER_IMAGE
FROM ${BUILDER_IMAGE}
ARG MUSLRUST_CHEF_FLAGS_amd64
WORKDIR /src
COPY . /src/
RUN eval "$MUSLRUST_CHEF_FLAGS_amd64"; muslrust_chef_cargo_build
`

// BenchmarkColdWarmPlain measures, on a buildkitd with an empty state, a
// cold rust:build of testdata/app for linux/amd64, the warm rebuild after a
// one-line source edit, and the same edit through plainDockerfile, and
// reports warm/cold and warm/plain.
func BenchmarkColdWarmPlain(b *testing.B) {
	e := newMuslEnv(b) // plainDockerfile needs a builder image
	ctx := context.Background()
	var cold, warm, plain time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fresh := testinfra.FreshBuildkitd(b)
		ws := fixtures.CopyTree(b, testdataApp)
		s := e.settings(ws, "linux/amd64", "")
		s.Output = str("oci:" + filepath.Join(b.TempDir(), "oci"))
		b.StartTimer()

		start := time.Now()
		if _, err := build(ctx, s, e.runtime(fresh)); err != nil {
			b.Fatal(err)
		}
		cold += time.Since(start)

		b.StopTimer()
		// The plain build before the edit, untimed, so that its rebuild
		// below is a rebuild too.
		bk, err := buildkit.Connect(ctx, buildkit.WithHost(fresh), buildkit.WithProgress(e.progress, "plain"))
		if err != nil {
			b.Fatal(err)
		}
		plainReq := func() buildkit.Request {
			r, _, err := resolve(s)
			if err != nil {
				b.Fatal(err)
			}
			bi, err := builder.Inspect(ctx, r.Builder)
			if err == nil {
				err = bi.Require(r.Platforms)
			}
			if err != nil {
				b.Fatal(err)
			}
			p := r.Platforms[0]
			plan, err := chef.NewPlan(chef.Options{Workspace: ws, Bin: r.Bin})
			if err != nil {
				b.Fatal(err)
			}
			locals, _ := plan.Recipe.LocalPackages()
			sn, err := snippet(r.Flags(p, bi.Libc[p], bi.RustFlags[p]), locals, "/src")
			if err != nil {
				b.Fatal(err)
			}
			layout, err := newContextLayout(&r, "", nil)
			if err != nil {
				b.Fatal(err)
			}
			return buildkit.Request{ContextDir: layout.Dir, ContextExcludes: layout.Excludes, DockerfileContent: []byte(plainDockerfile),
				Platforms: []string{p.String()}, BuildArgs: map[string]string{"BUILDER_IMAGE": bi.Pinned, "MUSLRUST_CHEF_FLAGS_amd64": sn}}
		}
		if _, err := bk.Solve(ctx, plainReq()); err != nil {
			b.Fatal(err)
		}
		replaceIn(b, filepath.Join(ws, "crates/app/src/main.rs"), `"hello from app v1"`, `"hello from app v2"`)
		b.StartTimer()

		start = time.Now()
		r, err := build(ctx, s, e.runtime(fresh))
		if err != nil {
			b.Fatal(err)
		}
		warm += time.Since(start)
		if v, ok := r.StageRun("cook", ""); !ok || !v.Cached {
			b.Fatalf("warm rebuild reran the cook step")
		}

		start = time.Now()
		res, err := bk.Solve(ctx, plainReq())
		if err != nil {
			b.Fatal(err)
		}
		plain += time.Since(start)
		bk.Close()
		for _, v := range res.Vertexes {
			if v.Cached && strings.Contains(v.Name, "RUN ") && strings.HasSuffix(v.Name, "muslrust_chef_cargo_build") {
				b.Fatalf("plain rebuild took cargo from cache: %s", v.Name)
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(cold.Seconds()/n, "cold-s")
	b.ReportMetric(warm.Seconds()/n, "warm-s")
	b.ReportMetric(plain.Seconds()/n, "plain-s")
	b.ReportMetric(warm.Seconds()/cold.Seconds(), "warm/cold")
	b.ReportMetric(warm.Seconds()/plain.Seconds(), "warm/plain")
}

// warmupDockerfile pulls and unpacks the builder's images into a fresh
// buildkitd, so that no measured build pays for that.
const warmupDockerfile = `ARG BUILDER_IMAGE
FROM ${BUILDER_IMAGE}
RUN true
`

// BenchmarkCrossEmulateNative builds testdata/cross (C code through the cc
// crate, serde, serde_json, regex) three ways on one fresh buildkitd whose
// builder images are already unpacked: linux/amd64 natively, linux/arm64
// under QEMU (emulate) and linux/arm64 cross-compiled on amd64 (cross).
// The three share no cache key (different images, stages or snippets), so
// every measurement compiles everything. Reports cross/native and
// cross/emulate.
func BenchmarkCrossEmulateNative(b *testing.B) {
	testinfra.RequireArm64(b)
	e := newMuslEnv(b)
	ctx := context.Background()
	var native, emulated, crossed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fresh := testinfra.FreshBuildkitd(b)
		bk, err := buildkit.Connect(ctx, buildkit.WithHost(fresh), buildkit.WithProgress(e.progress, "plain"))
		if err != nil {
			b.Fatal(err)
		}
		bi, err := builder.Inspect(ctx, e.builder)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bk.Solve(ctx, buildkit.Request{ContextDir: b.TempDir(), DockerfileContent: []byte(warmupDockerfile),
			Platforms: []string{"linux/amd64", "linux/arm64"}, BuildArgs: map[string]string{"BUILDER_IMAGE": bi.Pinned}}); err != nil {
			b.Fatal(err)
		}
		bk.Close()
		b.StartTimer()

		for _, m := range []struct {
			platform, strategy string
			into               *time.Duration
		}{
			{"linux/amd64", StrategyEmulate, &native},
			{"linux/arm64", StrategyCross, &crossed},
			{"linux/arm64", StrategyEmulate, &emulated},
		} {
			ws := fixtures.CopyTree(b, testdataCross)
			s := e.crossSettings(ws, m.platform, "")
			s.Strategy = str(m.strategy)
			s.Output = str("oci:" + filepath.Join(b.TempDir(), "oci"))
			start := time.Now()
			r, err := build(ctx, s, e.runtime(fresh))
			if err != nil {
				b.Fatal(err)
			}
			*m.into += time.Since(start)
			if v, ok := r.StageRun("cook", ""); !ok || v.Cached {
				b.Fatalf("%s %s: the cook step was cached; the measurement would not compile", m.strategy, m.platform)
			}
			b.Logf("%s %s: %s", m.strategy, m.platform, time.Since(start).Round(100*time.Millisecond))
		}
	}
	n := float64(b.N)
	b.ReportMetric(native.Seconds()/n, "native-amd64-s")
	b.ReportMetric(emulated.Seconds()/n, "emulate-arm64-s")
	b.ReportMetric(crossed.Seconds()/n, "cross-arm64-s")
	b.ReportMetric(crossed.Seconds()/native.Seconds(), "cross/native")
	b.ReportMetric(crossed.Seconds()/emulated.Seconds(), "cross/emulate")
}
