package pipeline

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// The user's first command with nothing configured but an image name: on a
// fresh BuildKit, rust:build builds the kit's own builder from the embedded
// Dockerfile (base and zig download pointed at the test world) in the same
// solve, cross-compiles both musl triples and pushes both platforms, whose
// images run. The second run reuses the builder; a third run on another
// fresh BuildKit gets builder and cook from the registry cache alone.
func TestDefaultBuilderIsBuiltInTheSameSolve(t *testing.T) {
	testinfra.RequireArm64(t)
	e := newDefaultEnv(t)
	// zig from a server of this run alone: its URL, a build argument of the
	// builder's stages, makes them new to the registry cache of earlier runs.
	url, sha := testinfra.ZigServer(t)
	setZig(t, url, sha)
	ws := fixtures.CopyTree(t, testdataCross)
	ctx := context.Background()
	s := e.crossSettings(ws, "linux/amd64,linux/arm64", e.image("default"))
	s.Strategy = nil
	s.Cache = nil // the default: <image repo>:buildcache-<branch> plus main's

	var log string
	run := func(what, host string) *Result {
		t.Helper()
		mark := len(e.log.String())
		defer func() { log = e.log.String()[mark:] }()
		start := time.Now()
		r, err := build(ctx, s, e.runtime(host))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s took %s (builder built %t in %s)", what, time.Since(start).Round(time.Second), r.BuilderBuilt, r.BuilderTook.Round(time.Second))
		return r
	}
	fresh := testinfra.FreshBuildkitd(t)
	r := run("first run on a fresh BuildKit", fresh)
	if !r.Builder.Embedded || r.Strategy != StrategyCross {
		t.Fatalf("builder %q (embedded %t), strategy %q: want the kit's own builder, cross", r.Builder.Ref, r.Builder.Embedded, r.Strategy)
	}
	if !r.BuilderBuilt || !strings.Contains(log, "builder: built in ") {
		t.Fatalf("the first run on a fresh BuildKit did not build the builder:\n%s", log)
	}
	if r.Cache.Rest.To == "" || r.Cache.Cook.To == "" {
		t.Fatalf("no registry cache exported by default:\n%s", log)
	}
	got := indexManifests(t, r.Published.Reference)
	if len(got) != 2 || got["linux/amd64"] == (v1.Hash{}) || got["linux/arm64"] == (v1.Hash{}) {
		t.Fatalf("published index has %v, want linux/amd64 and linux/arm64", got)
	}
	text := "hello from crossapp v1"
	for _, p := range []platform.Platform{amd64(), arm64()} {
		bin := filepath.Join(ws, "dist", p.DistDir(), "crossapp")
		if res, err := elfcheck.VerifyLibc(bin, p, elfcheck.Musl); err != nil || res.Libc != elfcheck.Musl {
			t.Errorf("%s: %+v %v", bin, res, err)
		}
		ref := mustRef(t, r.Published.Reference).Context().Digest(got[p.String()].String()).String()
		checkOutput(t, "docker run "+p.String(), dockerRun(t, ref, p.String()), wantCrossMusl(p, text))
	}

	r = run("second run", fresh)
	if r.BuilderBuilt || !strings.Contains(log, "builder: reused") {
		t.Fatalf("the second run rebuilt the builder:\n%s", log)
	}
	r = run("a fresh BuildKit with the registry cache", testinfra.FreshBuildkitd(t))
	if r.BuilderBuilt || !strings.Contains(log, "builder: reused") {
		t.Fatalf("the registry cache did not carry the builder:\n%s", log)
	}
	if v, ok := r.StageRun(app.StageCook, ""); !ok || !v.Cached {
		t.Fatalf("the registry cache did not carry cook (found %t):\n%s", ok, log)
	}
}
