package pipeline

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// jemallocProgram allocates from a second thread, so that it links
// pthread_create as a threaded Rust program does, and prints a sum so
// that the compiler cannot drop the allocations.
const jemallocProgram = `#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static void *work(void *arg) {
    size_t n = 0;
    for (int i = 0; i < 1000; i++) {
        char *p = malloc(16 + i);
        if (p == NULL) return NULL;
        memset(p, i, 16 + i);
        n += (unsigned char)p[i];
        free(p);
    }
    *(size_t *)arg = n;
    return arg;
}
int main(void) {
    pthread_t th;
    size_t n = 0;
    if (pthread_create(&th, NULL, work, &n) != 0) return 1;
    pthread_join(th, NULL);
    printf("jemalloc fixture %zu\n", n);
    return 0;
}
`

// jemallocBinaries links jemallocProgram statically against Debian's
// libjemalloc.a (glibc, the host's architecture) and returns it unstripped
// and stripped.
func jemallocBinaries(t *testing.T) (symbols, stripped string) {
	t.Helper()
	gcc := testinfra.Tool(t, "gcc")
	// gcc prints the library's path when it finds it, its bare name when not.
	out, err := exec.Command(gcc, "-print-file-name=libjemalloc.a").Output()
	lib := strings.TrimSpace(string(out))
	if err != nil || !filepath.IsAbs(lib) {
		testinfra.Missing(t, fmt.Sprintf("Debian's static jemalloc: gcc does not find libjemalloc.a (%q, %v)", lib, err), "run: sudo bash scripts/provision.d/jemalloc.sh")
	}
	dir := t.TempDir()
	fixtures.WriteFile(t, dir, "jemalloc.c", jemallocProgram)
	symbols, stripped = filepath.Join(dir, "symbols"), filepath.Join(dir, "stripped")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, c := range [][]string{
		{gcc, "-O2", "-static", "-o", symbols, filepath.Join(dir, "jemalloc.c"), lib, "-lpthread", "-lm", "-ldl"},
		{gcc, "-O2", "-static", "-s", "-o", stripped, filepath.Join(dir, "jemalloc.c"), lib, "-lpthread", "-lm", "-ldl"},
		{symbols},
	} {
		if out, err := exec.CommandContext(ctx, c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
	return symbols, stripped
}

// verify on a real jemalloc binary (a static glibc C program linked with
// Debian's libjemalloc.a, with and without symbols: the musl stand-in has
// no jemalloc crate, and adding one rebuilds it): the log line names
// jemalloc (and the threads, with symbols), no warning, MUSLRUST_CHEF_REQUIRE_ALLOCATOR=
// jemalloc is met, =mimalloc fails in one line naming the binary and the
// README section.
func TestVerifyReportsJemalloc(t *testing.T) {
	symbols, stripped := jemallocBinaries(t)
	host, err := platform.Host()
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{symbols, stripped} {
		dist := t.TempDir()
		bin := filepath.Join(dist, host.DistDir(), "jem")
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		c := &Config{}
		c.Platforms, c.Dist, c.Bin, c.Libc = []platform.Platform{host}, dist, "jem", "gnu"
		what := filepath.Base(src)
		var log strings.Builder
		in := verifyIn{Config: c, Solved: &Solved{}, Log: &log, Names: config.KnobName}
		if _, _, err := verify(in); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		// Stripped, a C program's threads leave no mark (README "Allocator
		// on musl": only Rust's thread spawn message does).
		threads := ", multi-threaded"
		if src == stripped {
			threads = ""
		}
		if want := "build: " + bin + " verified static, glibc, allocator jemalloc" + threads + " (cook "; !strings.HasPrefix(log.String(), want) || strings.Count(log.String(), "\n") != 1 {
			t.Errorf("%s: verify logged %q, want one line starting %q", what, log.String(), want)
		}

		c.RequireAllocator = elfcheck.AllocJemalloc
		if _, _, err := verify(in); err != nil {
			t.Errorf("%s: required jemalloc, linked jemalloc: %v", what, err)
		}
		c.RequireAllocator = elfcheck.AllocMimalloc
		_, _, err = verify(in)
		msg := ""
		if err != nil {
			msg = render(err, config.KnobName)
		}
		want := "linux/amd64 jem allocates with jemalloc, but MUSLRUST_CHEF_REQUIRE_ALLOCATOR=mimalloc: " + bin + "; add mimalloc = \"0.1\""
		if !strings.HasPrefix(msg, want) || !strings.Contains(msg, elfcheck.AllocatorReadme) || strings.Contains(msg, "\n") {
			t.Errorf("%s: required mimalloc, linked jemalloc: %q; want one line starting %q", what, msg, want)
		}
	}
}

// The allocator warning and error point to a README section by name: it
// must exist, as a heading, and hold the measured effect and the knob.
func TestAllocatorReadmeSectionExists(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	title := strings.TrimSuffix(strings.TrimPrefix(elfcheck.AllocatorReadme, `README "`), `"`)
	_, section, ok := strings.Cut(string(b), "\n### "+title+"\n")
	if !ok {
		t.Fatalf("README.md has no heading %q, which %s names", "### "+title, elfcheck.AllocatorReadme)
	}
	if next := strings.Index(section, "\n##"); next >= 0 {
		section = section[:next]
	}
	for _, want := range []string{"slower than mimalloc", "BenchmarkMuslMallocVsMimalloc", "MUSLRUST_CHEF_REQUIRE_ALLOCATOR=mimalloc", "#[global_allocator]"} {
		if !strings.Contains(section, want) {
			t.Errorf("README %q lacks %q", title, want)
		}
	}
}
