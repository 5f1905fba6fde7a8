package standin

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// A plain `cargo build --target <triple>` in the musl stand-in, with no
// flags and no environment from the test, builds testdata/cross (serde_json
// and a build script compiling C with the cc crate) for both musl triples
// on amd64: static musl binaries that run (aarch64 under QEMU) and whose C
// code was compiled for the right architecture.
func TestMuslStandinBuildsStaticMuslForBothTriples(t *testing.T) {
	ref := MuslImage(t)
	buildctl := testinfra.Tool(t, "buildctl")
	bk := testinfra.Buildkitd(t)
	src := fixtures.CopyTree(t, filepath.Join("..", "..", "testdata", "cross"))
	dfDir := t.TempDir()
	fixtures.WriteFile(t, dfDir, "Dockerfile", `ARG IMAGE
FROM --platform=$BUILDPLATFORM ${IMAGE} AS build
COPY . /src
WORKDIR /src
RUN set -eu; mkdir /out; for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do \
      cargo build --release --target "$t"; cp "target/$t/release/crossapp" "/out/crossapp-$t"; done
FROM scratch
COPY --from=build /out/ /
`)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, buildctl, "--addr", bk, "build", "--progress", "plain", "--frontend", "dockerfile.v0",
		"--local", "context="+src, "--local", "dockerfile="+dfDir, "--opt", "build-arg:IMAGE="+ref,
		"--output", "type=local,dest="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cargo build in the musl stand-in: %v\n%s", err, lastLines(b, 40))
	}
	t.Logf("both triples built in %s", time.Since(start).Round(time.Second))
	for _, c := range []struct{ triple, plat, arch string }{
		{"x86_64-unknown-linux-musl", "linux/amd64", "x86_64"},
		{"aarch64-unknown-linux-musl", "linux/arm64", "aarch64"},
	} {
		bin := filepath.Join(out, "crossapp-"+c.triple)
		p, err := platform.Parse(c.plat)
		if err != nil {
			t.Fatal(err)
		}
		res, err := elfcheck.VerifyLibc(bin, p, elfcheck.Musl)
		if err != nil {
			t.Errorf("%s: %v", c.triple, err)
			continue
		}
		if c.plat == "linux/arm64" {
			testinfra.RequireArm64(t)
		}
		if c.plat == "linux/amd64" && runtime.GOARCH != "amd64" {
			continue
		}
		got, err := exec.Command(bin).CombinedOutput()
		if err != nil {
			t.Errorf("%s: running it: %v %s", c.triple, err, got)
			continue
		}
		for _, want := range []string{"on " + c.triple, "arch=" + c.arch, `"hello"`} {
			if !strings.Contains(string(got), want) {
				t.Errorf("%s: output %q lacks %q", c.triple, got, want)
			}
		}
		t.Logf("%s: %s %s, %d bytes: %s", c.triple, res.Linkage, res.Libc, size(bin), strings.TrimSpace(string(got)))
	}
}

func size(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return st.Size()
}
