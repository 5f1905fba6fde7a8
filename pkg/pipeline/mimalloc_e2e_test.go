package pipeline

import (
	"context"
	"debug/elf"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

const testdataMimalloc = "../../testdata/mimalloc"

// mimallocLine is what testdata/mimalloc's binary prints when every check
// passed: mimalloc's version, and how many calls the global allocator served.
var mimallocLine = regexp.MustCompile(`(?m)^allocator: mimalloc (\d+), (\d+) allocations, (\d+) reallocations, (\d+) frees, heap check ok$`)

// mimallocSymbols are mimalloc functions the fixture's allocator calls;
// they are defined in the binary only when the C code was compiled and
// linked in.
var mimallocSymbols = []string{"mi_malloc_aligned", "mi_zalloc_aligned", "mi_realloc_aligned", "mi_free", "mi_is_in_heap_region", "mi_version"}

// rust:build with nothing configured (the kit's own builder on the musl
// stand-in, cross strategy by its declaration) of a binary whose global
// allocator is mimalloc, compiled from Debian's mimalloc sources by a `cc`
// build script with zig for both musl triples: verify says static musl for
// both, the ELF files define mimalloc's functions, and both images run
// (arm64 under QEMU) and report that mimalloc served the allocations.
func TestCrossMuslMimallocAllocator(t *testing.T) {
	testinfra.RequireArm64(t)
	src := testinfra.MimallocSource(t)
	wantVersion := mimallocHeaderVersion(t, src)
	// Symbols are kept so that the ELF check below can find mimalloc's
	// functions (the default strips them).
	t.Setenv("MUSLRUST_CHEF_STRIP", "false")
	e := newDefaultEnv(t)
	ws := fixtures.CopyTree(t, testdataMimalloc)
	// The build context holds only the workspace: the C sources go in it.
	for _, d := range []string{"src", "include"} {
		copyDir(t, filepath.Join(src, d), filepath.Join(ws, "crates/allocdemo/mimalloc", d))
	}
	s := e.settings(ws, "linux/amd64,linux/arm64", e.image("allocdemo"))
	s.Strategy = nil

	start := time.Now()
	r, err := build(context.Background(), s, e.runtime(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mimalloc musl cross build (both platforms) took %s", time.Since(start).Round(time.Second))
	if r.Strategy != StrategyCross {
		t.Fatalf("strategy %q, want cross; log:\n%s", r.Strategy, e.log.String())
	}
	got := indexManifests(t, r.Published.Reference)
	if len(got) != 2 {
		t.Fatalf("published index has %v, want linux/amd64 and linux/arm64", got)
	}
	for _, p := range []platform.Platform{amd64(), arm64()} {
		bin := filepath.Join(ws, "dist", p.DistDir(), "allocdemo")
		res, err := elfcheck.VerifyLibc(bin, p, elfcheck.Musl)
		if err != nil || res.Libc != elfcheck.Musl {
			t.Errorf("%s: %+v %v", bin, res, err)
		}
		checkMimallocSymbols(t, bin)
		// verify's log line names the allocator: from the symbols here (unstripped).
		if want := "build: " + bin + " verified static, musl, allocator mimalloc, multi-threaded (cook "; !strings.Contains(e.log.String(), want) {
			t.Errorf("the build log lacks %q:\n%s", want, e.log.String())
		}
		if st, err := os.Stat(bin); err == nil {
			t.Logf("%s binary (unstripped): %d bytes", p, st.Size())
		}
		checkMimallocRun(t, p.String()+" binary", runBinary(t, bin), p, wantVersion)

		digest, ok := got[p.String()]
		if !ok {
			t.Fatalf("published index has no %s: %v", p, got)
		}
		ref := mustRef(t, r.Published.Reference).Context().Digest(digest.String())
		checkMimallocRun(t, "docker run "+p.String(), dockerRun(t, ref.String(), p.String()), p, wantVersion)
		img, err := remote.Image(ref)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := img.Manifest(); err == nil {
			var size int64
			for _, l := range m.Layers {
				size += l.Size
			}
			t.Logf("%s image: %d compressed layer bytes in %d layer(s)", p, size, len(m.Layers))
		}
	}
}

// checkMimallocRun checks the fixture's output: its triple, mimalloc's
// version as in the sources' header, at least one allocation served.
func checkMimallocRun(t *testing.T, what, out string, p platform.Platform, wantVersion int) {
	t.Helper()
	checkOutput(t, what, out, []string{"allocdemo on " + p.Triple("musl"), "10000 numbers, sum 49995000"})
	m := mimallocLine.FindStringSubmatch(out)
	if m == nil {
		t.Errorf("%s printed %q, want a line matching %s", what, out, mimallocLine)
		return
	}
	version, _ := strconv.Atoi(m[1])
	allocs, _ := strconv.Atoi(m[2])
	if version != wantVersion || allocs == 0 {
		t.Errorf("%s: mimalloc %d with %d allocations, want version %d and at least one allocation", what, version, allocs, wantVersion)
	}
	t.Logf("%s: %s", what, m[0])
}

// checkMimallocSymbols requires mimalloc's API functions to be defined in
// the ELF file's symbol table.
func checkMimallocSymbols(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("%s: %v (built with MUSLRUST_CHEF_STRIP=false, it should have a symbol table)", bin, err)
	}
	defined := map[string]bool{}
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			defined[s.Name] = true
		}
	}
	for _, name := range mimallocSymbols {
		if !defined[name] {
			t.Errorf("%s does not define the function %s: mimalloc is not linked in", bin, name)
		}
	}
}

// mimallocHeaderVersion reads MI_MALLOC_VERSION from the provisioned
// sources, the number mi_version() returns.
func mimallocHeaderVersion(t *testing.T, src string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(src, "include", "mimalloc.h"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^#define MI_MALLOC_VERSION (\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s/include/mimalloc.h defines no MI_MALLOC_VERSION", src)
	}
	v, _ := strconv.Atoi(string(m[1]))
	return v
}

// copyDir copies the regular files of the tree src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
