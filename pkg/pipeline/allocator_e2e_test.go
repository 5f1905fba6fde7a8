package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

// rust:build of testdata/allocbench's multi-threaded benchmark with the
// kit's defaults (musl, stripped): verify's line names musl's malloc and
// the build warns, pointing to the README; MUSLRUST_CHEF_REQUIRE_ALLOCATOR=
// mimalloc turns that into a one-line failure; with the mimalloc feature
// (mimalloc as #[global_allocator]) the requirement is met, told from the
// stripped binary; and an unknown value is refused before any build.
func TestAllocatorWarningAndRequirement(t *testing.T) {
	src := testinfra.MimallocSource(t)
	e := newDefaultEnv(t)
	ws := fixtures.CopyTree(t, "../../testdata/allocbench")
	for _, d := range []string{"src", "include"} {
		copyDir(t, filepath.Join(src, d), filepath.Join(ws, "crates/threads/mimalloc", d))
	}
	s := e.settings(ws, "linux/amd64", e.image("allocbench"))
	s.Strategy, s.Bin = nil, str("threads")
	ctx := context.Background()
	bin := filepath.Join(ws, "dist", "linux_amd64", "threads")

	if _, err := build(ctx, s, e.runtime("")); err != nil {
		t.Fatal(err)
	}
	log := e.log.String()
	for _, want := range []string{
		"build: " + bin + " verified static, musl, allocator musl malloc (mallocng), multi-threaded (cook ",
		"build: WARNING: linux/amd64 threads is multi-threaded and allocates with musl malloc (mallocng)",
		`README "Allocator on musl"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the build log lacks %q:\n%s", want, log)
		}
	}

	t.Setenv("MUSLRUST_CHEF_REQUIRE_ALLOCATOR", "mimalloc")
	_, err := build(ctx, s, e.runtime(""))
	want := "linux/amd64 threads allocates with musl malloc (mallocng), but MUSLRUST_CHEF_REQUIRE_ALLOCATOR=mimalloc: " + bin + "; add "
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("required mimalloc, built on musl's malloc: %v; want one line starting %q", err, want)
	}

	s.Features = str("mimalloc")
	mark := len(e.log.String())
	if _, err := build(ctx, s, e.runtime("")); err != nil {
		t.Fatalf("required mimalloc, built with it: %v", err)
	}
	log = e.log.String()[mark:]
	if want := "build: " + bin + " verified static, musl, allocator mimalloc, multi-threaded (cook "; !strings.Contains(log, want) {
		t.Errorf("the build log lacks %q:\n%s", want, log)
	}
	if strings.Contains(log, "WARNING") {
		t.Errorf("a warning with mimalloc:\n%s", log)
	}
	if out := runBinary(t, bin); !strings.HasPrefix(out, "threads: allocator mimalloc, 4 threads x 200000 rounds") {
		t.Errorf("the binary printed %q", out)
	}

	t.Setenv("MUSLRUST_CHEF_REQUIRE_ALLOCATOR", "tcmalloc")
	_, err = build(ctx, s, e.runtime(""))
	if err == nil || err.Error() != `MUSLRUST_CHEF_REQUIRE_ALLOCATOR: unknown allocator "tcmalloc": use mimalloc or jemalloc (or leave it unset to only warn)` {
		t.Errorf("unknown allocator: %v", err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Errorf("the last good binary should stay: %v", err)
	}
}
