// Package allocbench builds testdata/allocbench, the allocator fixture of
// pkg/elfcheck's, cmd/muslrust-chef's and pkg/pipeline's allocator tests
// and of the musl-malloc-versus-mimalloc benchmark, with the musl
// stand-in builder: real static binaries, stripped and not.
package allocbench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

// source is testdata/allocbench, found from this file so that every
// package's tests can call Binaries.
func source() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "allocbench")
}

// dockerfile builds testdata/allocbench in the musl stand-in:
// for x86_64 musl the single-threaded binary, the threaded benchmark on
// musl's malloc and on mimalloc; the two threaded ones for aarch64 musl;
// and single and threads as static glibc (+crt-static) for x86_64. Each
// unstripped (CARGO_PROFILE_RELEASE_STRIP=none) and stripped the way the
// kit strips (=symbols, MUSLRUST_CHEF_STRIP's default).
const dockerfile = `ARG IMAGE
FROM --platform=$BUILDPLATFORM ${IMAGE} AS build
COPY . /src
WORKDIR /src
RUN set -eu; mkdir /out; \
    for strip in none symbols; do \
      export CARGO_PROFILE_RELEASE_STRIP=$strip; \
      for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do \
        cargo build --release --target $t -p single -p threads; \
        cp target/$t/release/single /out/$t-single-$strip; cp target/$t/release/threads /out/$t-threads-$strip; \
        cargo build --release --target $t -p threads --features mimalloc; \
        cp target/$t/release/threads /out/$t-threads-mimalloc-$strip; \
      done; \
      t=x86_64-unknown-linux-gnu; \
      RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target $t -p single -p threads; \
      cp target/$t/release/single /out/$t-single-$strip; cp target/$t/release/threads /out/$t-threads-$strip; \
    done
FROM scratch
COPY --from=build /out/ /
`

var built struct {
	once sync.Once
	dir  string
	err  string
}

// Binaries builds testdata/allocbench once per test process and returns the directory holding <triple>-<bin>[-mimalloc]-<none|symbols>.
func Binaries(t testing.TB) string {
	t.Helper()
	ref := standin.MuslImage(t)
	buildctl := testinfra.Tool(t, "buildctl")
	bk := testinfra.Buildkitd(t)
	mimalloc := testinfra.MimallocSource(t)
	built.once.Do(func() {
		ws, err := os.MkdirTemp("", "allocbench-src-")
		if err != nil {
			built.err = err.Error()
			return
		}
		defer os.RemoveAll(ws)
		if err := copyTree(source(), ws); err != nil {
			built.err = err.Error()
			return
		}
		for _, d := range []string{"src", "include"} {
			if err := copyTree(filepath.Join(mimalloc, d), filepath.Join(ws, "crates", "threads", "mimalloc", d)); err != nil {
				built.err = err.Error()
				return
			}
		}
		dfDir, err := os.MkdirTemp("", "allocbench-df-")
		if err != nil {
			built.err = err.Error()
			return
		}
		defer os.RemoveAll(dfDir)
		if err := os.WriteFile(filepath.Join(dfDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
			built.err = err.Error()
			return
		}
		// Outlives the test that built it (every test of the process uses
		// it), so earlier processes' copies are removed instead.
		cache := filepath.Join(testinfra.Root(), "cache", "allocbench")
		if err := os.MkdirAll(cache, 0o755); err != nil {
			built.err = err.Error()
			return
		}
		if old, err := os.ReadDir(cache); err == nil {
			for _, e := range old {
				if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > 2*time.Hour {
					os.RemoveAll(filepath.Join(cache, e.Name()))
				}
			}
		}
		out, err := os.MkdirTemp(cache, "out-")
		if err != nil {
			built.err = err.Error()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		start := time.Now()
		cmd := exec.CommandContext(ctx, buildctl, "--addr", bk, "build", "--progress", "plain", "--frontend", "dockerfile.v0",
			"--local", "context="+ws, "--local", "dockerfile="+dfDir, "--opt", "build-arg:IMAGE="+ref,
			"--output", "type=local,dest="+out)
		if b, err := cmd.CombinedOutput(); err != nil {
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			built.err = "building testdata/allocbench in the musl stand-in: " + err.Error() + "\n" + strings.Join(lines[max(0, len(lines)-40):], "\n")
			return
		}
		t.Logf("testdata/allocbench built in %s", time.Since(start).Round(time.Second))
		built.dir = out
	})
	if built.err != "" {
		t.Fatal(built.err)
	}
	return built.dir
}

func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}
