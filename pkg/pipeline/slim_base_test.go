package pipeline

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
)

// A build reads its runtime base once: the plan checks it before the
// compile, and slim builds on what the plan read. Each manifest of the
// base (the index, one per platform) is fetched once over both stages.
func TestBuildReadsTheBaseOnce(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	base := testimages.PushRandomBase(t, reg.Host, "amd64", "arm64")
	dist := makeDist(t, "app", map[string]string{"amd64": fixtures.GoStatic(t, "amd64"), "arm64": fixtures.GoStatic(t, "arm64")})
	c := &Config{Spec: buildspec.Spec{Workspace: fixtures.CopyTree(t, testdataApp), PlanDir: filepath.Join(t.TempDir(), "plan"),
		Dist: filepath.Join(t.TempDir(), "dist"), Bin: "app", Package: "app", Platforms: both(t), Profile: "release", Locked: true,
		Output: "oci:" + filepath.Join(t.TempDir(), "oci"), Image: "team/app:1", Base: base}}
	ctx := context.Background()
	reg.ResetLog()
	var log bytes.Buffer
	planned, err := plan(ctx, planIn{Config: c, What: "build", Host: hostPlatform(t), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slimImage(ctx, slimIn{Bin: c.Bin, Dist: dist, Platforms: planned.Platforms, Image: c.Image,
		Output: planned.Output, Base: c.Base, Read: &planned.Base, Log: &log}); err != nil {
		t.Fatal(err)
	}
	fetched := map[string]int{}
	for _, q := range reg.Log() {
		if q.Kind == "manifest" && (q.Method == http.MethodGet || q.Method == http.MethodHead) {
			fetched[q.Method+" "+q.Ref]++
		}
	}
	if len(fetched) != 3 {
		t.Errorf("base manifests read: %v, want the index and two platform manifests", fetched)
	}
	for ref, n := range fetched {
		if n != 1 {
			t.Errorf("%s: %d times, want once (all: %v)", ref, n, fetched)
		}
	}
}
