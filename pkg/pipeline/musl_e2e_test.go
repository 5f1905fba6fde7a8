package pipeline

import (
	"context"
	"fmt"
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

// wantCrossMusl is wantCross for the default (musl) triples.
func wantCrossMusl(p platform.Platform, text string) []string {
	w := wantCross(p, text)
	w[0] = text + " on " + p.Triple("musl")
	return w
}

// rust:build with nothing configured (the kit's own builder on the musl
// stand-in): the builder's declaration makes it cross, both default musl triples compile on amd64
// with zig behind the helper's wrapper (C code included), verify names musl
// for both, both images run (arm64 under QEMU), and a one-line edit reuses
// the cook step.
func TestCrossMuslBothPlatformsAndEdit(t *testing.T) {
	testinfra.RequireArm64(t)
	e := newDefaultEnv(t)
	ws := fixtures.CopyTree(t, testdataCross)
	ctx := context.Background()
	s := e.crossSettings(ws, "linux/amd64,linux/arm64", e.image("crossapp-musl"))
	s.Strategy = nil

	start := time.Now()
	r, err := build(ctx, s, e.runtime(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cold musl cross build (both platforms) took %s", time.Since(start).Round(time.Second))
	if r.Strategy != StrategyCross {
		t.Fatalf("strategy %q, want cross; log:\n%s", r.Strategy, e.log.String())
	}
	got := indexManifests(t, r.Published.Reference)
	if len(got) != 2 || got["linux/amd64"] == (v1.Hash{}) || got["linux/arm64"] == (v1.Hash{}) {
		t.Fatalf("published index has %v, want linux/amd64 and linux/arm64", got)
	}
	text := "hello from crossapp v1"
	for _, p := range []platform.Platform{amd64(), arm64()} {
		bin := filepath.Join(ws, "dist", p.DistDir(), "crossapp")
		res, err := elfcheck.VerifyLibc(bin, p, elfcheck.Musl)
		if err != nil || res.Libc != elfcheck.Musl {
			t.Errorf("%s: %+v %v", bin, res, err)
		}
		if !strings.Contains(e.log.String(), "build: "+bin+" verified static, musl") {
			t.Errorf("the build log does not name musl for %s:\n%s", bin, e.log.String())
		}
		checkOutput(t, p.String()+" binary", runBinary(t, bin), wantCrossMusl(p, text))
	}
	for _, p := range []platform.Platform{amd64(), arm64()} {
		ref := mustRef(t, r.Published.Reference).Context().Digest(got[p.String()].String()).String()
		checkOutput(t, "docker run "+p.String(), dockerRun(t, ref, p.String()), wantCrossMusl(p, text))
	}

	text = fmt.Sprintf("hello from crossapp v%d", time.Now().UnixNano()%1e9)
	replaceIn(t, filepath.Join(ws, "crates/crossapp/src/main.rs"), `"hello from crossapp v1"`, `"`+text+`"`)
	start = time.Now()
	r, err = build(ctx, s, e.runtime(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("warm musl cross rebuild after a one-line edit took %s", time.Since(start).Round(time.Second))
	if v, ok := r.StageRun(app.StageCook, ""); !ok || !v.Cached {
		t.Errorf("cross-cook step after a source edit: found %t, cached %t", ok, v.Cached)
	}
	for _, p := range []platform.Platform{amd64(), arm64()} {
		checkOutput(t, p.String()+" binary", runBinary(t, filepath.Join(ws, "dist", p.DistDir(), "crossapp")), wantCrossMusl(p, text))
	}
}
