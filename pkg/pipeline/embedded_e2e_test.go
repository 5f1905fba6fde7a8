package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

// embeddedBuilderInputs points the kit's own builder at the test world: its
// base image and its downloads. Nothing else of the default path changes.
func embeddedBuilderInputs(t *testing.T) {
	t.Setenv("MUSLRUST_CHEF_BUILDER_IMAGE", "")
	t.Setenv("MUSLRUST_CHEF_MUSLRUST_IMAGE", standin.Image(t))
	t.Setenv("MUSLRUST_CHEF_BUILDER_ARGS", "CROSS_RUST_TARGETS=,ZIG_VERSION=,CARGO_ZIGBUILD_VERSION=,MUSLRUST_CHEF_CROSS_PLATFORMS=")
	t.Setenv("MUSLRUST_CHEF_LIBC", "gnu")
	t.Setenv("MUSLRUST_CHEF_RUSTFLAGS", standin.CrtStatic)
}

// With no builder image configured, rust:build builds the kit's own builder
// from the embedded Dockerfile in the same solve, on a fresh BuildKit; the
// second run reuses it, and a third on another fresh BuildKit gets builder
// and cook from the registry cache alone.
func TestDefaultBuilderIsBuiltInTheSameSolve(t *testing.T) {
	e := newEnv(t)
	embeddedBuilderInputs(t)
	ws := fixtures.CopyTree(t, testdataApp)
	ctx := context.Background()
	s := e.settings(ws, "linux/amd64", e.image("embedded"))
	s.Builder = nil
	s.Cache = str(e.image("embedded-cache"))

	fresh := testinfra.FreshBuildkitd(t)
	var log string
	run := func(what, host string) *Result {
		t.Helper()
		mark := len(log)
		defer func() { log = e.log.String()[mark:] }()
		start := time.Now()
		r, err := Build(ctx, s, e.runtime(host))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s took %s (builder built %t in %s)", what, time.Since(start).Round(time.Second), r.BuilderBuilt, r.BuilderTook.Round(time.Second))
		return r
	}
	r := run("first run on a fresh BuildKit", fresh)
	if !r.BuilderBuilt || !strings.Contains(log, "builder: built in ") {
		t.Fatalf("the first run on a fresh BuildKit did not build the builder:\n%s", log)
	}
	r = run("second run", fresh)
	if r.BuilderBuilt || !strings.Contains(log, "builder: reused") {
		t.Fatalf("the second run rebuilt the builder:\n%s", log)
	}
	r = run("a fresh BuildKit with the registry cache", testinfra.FreshBuildkitd(t))
	if r.BuilderBuilt || !strings.Contains(log, "builder: reused") {
		t.Fatalf("the registry cache did not carry the builder:\n%s", log)
	}
	if v, ok := r.StageRun("cook", ""); !ok || !v.Cached {
		t.Fatalf("the registry cache did not carry cook (%+v):\n%s", v, log)
	}
}
