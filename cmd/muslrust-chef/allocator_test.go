package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/allocbench"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
)

// verify names the allocator, warns (exit 0) about a multi-threaded binary
// on musl's malloc, and fails on the allocator required by flag or by
// MUSLRUST_CHEF_REQUIRE_ALLOCATOR: real stripped binaries, as the kit
// builds them by default.
func TestVerifyAllocator(t *testing.T) {
	dir := t.TempDir()
	bins := allocbench.Binaries(t)
	threads := filepath.Join(bins, "x86_64-unknown-linux-musl-threads-symbols")
	mimalloc := filepath.Join(bins, "x86_64-unknown-linux-musl-threads-mimalloc-symbols")
	single := filepath.Join(bins, "x86_64-unknown-linux-musl-single-symbols")
	amd64 := []string{"TARGETARCH=amd64"}

	r := runCLI(t, dir, amd64, "verify", threads)
	if r.code != 0 || !strings.HasPrefix(r.stdout, threads+": static") ||
		!strings.HasSuffix(r.stdout, " linux/amd64 musl executable, no interpreter, no shared libraries, allocator musl malloc (mallocng), multi-threaded\n") {
		t.Errorf("musl, threads: exit %d stdout %q", r.code, r.stdout)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "muslrust-chef: WARNING: linux/amd64 "+filepath.Base(threads)+" is multi-threaded") ||
		!strings.Contains(r.stderr, `README "Allocator on musl"`) || !strings.Contains(r.stderr, `mimalloc = "0.1"`) {
		t.Errorf("musl, threads: stderr %q, want the one-line allocator warning", r.stderr)
	}

	// Single-threaded on musl's malloc: named, no warning.
	r = runCLI(t, dir, amd64, "verify", single)
	if r.code != 0 || r.stderr != "" || !strings.HasSuffix(r.stdout, ", allocator musl malloc (mallocng)\n") {
		t.Errorf("musl, single: %+v", r)
	}
	// mimalloc: named, no warning; and it satisfies the requirement.
	for _, args := range [][]string{{"verify", mimalloc}, {"verify", mimalloc, "--require-allocator", "mimalloc"}} {
		r = runCLI(t, dir, amd64, args...)
		if r.code != 0 || r.stderr != "" || !strings.HasSuffix(r.stdout, ", allocator mimalloc, multi-threaded\n") {
			t.Errorf("%v: %+v", args, r)
		}
	}

	// The requirement, from the environment or the flag, fails in one line.
	wantFail(t, runCLI(t, dir, append(amd64, envRequireAllocator+"=mimalloc"), "verify", threads), 1,
		"linux/amd64 "+filepath.Base(threads)+" allocates with musl malloc (mallocng), but MUSLRUST_CHEF_REQUIRE_ALLOCATOR=mimalloc: "+threads, "#[global_allocator]")
	wantFail(t, runCLI(t, dir, amd64, "verify", mimalloc, "--require-allocator=jemalloc"), 1,
		"allocates with mimalloc, but MUSLRUST_CHEF_REQUIRE_ALLOCATOR=jemalloc", "tikv-jemallocator")
	// A Go program has no choice of allocator: required mimalloc fails too.
	wantFail(t, runCLI(t, dir, amd64, "verify", fixtures.GoStatic(t, "amd64"), "--require-allocator", "mimalloc"), 1, "allocates with Go runtime")

	// Bad values are usage errors, before the binary is read.
	wantFail(t, runCLI(t, dir, append(amd64, envRequireAllocator+"=tcmalloc"), "verify", threads), 2,
		`MUSLRUST_CHEF_REQUIRE_ALLOCATOR): unknown allocator "tcmalloc": use mimalloc or jemalloc`)
	wantFail(t, runCLI(t, dir, amd64, "verify", threads, "--require-allocator", "musl"), 2, `unknown allocator "musl"`)
}
