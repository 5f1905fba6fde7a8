package elfcheck

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/allocbench"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// Real binaries, stripped and not, on both musl triples and static glibc:
// the allocator and the threading verify reports, the warning only for a
// multi-threaded binary on musl's malloc, and the required allocator.
func TestAllocatorOfRealBinaries(t *testing.T) {
	dir := allocbench.Binaries(t)
	for _, c := range []struct {
		file, platform string
		alloc          Allocator
		libc           Libc
		threads        bool
	}{
		{"x86_64-unknown-linux-musl-single", "linux/amd64", AllocMusl, Musl, false},
		{"x86_64-unknown-linux-musl-threads", "linux/amd64", AllocMusl, Musl, true},
		{"x86_64-unknown-linux-musl-threads-mimalloc", "linux/amd64", AllocMimalloc, Musl, true},
		{"aarch64-unknown-linux-musl-single", "linux/arm64", AllocMusl, Musl, false},
		{"aarch64-unknown-linux-musl-threads", "linux/arm64", AllocMusl, Musl, true},
		{"aarch64-unknown-linux-musl-threads-mimalloc", "linux/arm64", AllocMimalloc, Musl, true},
		{"x86_64-unknown-linux-gnu-single", "linux/amd64", AllocGlibc, Glibc, false},
		{"x86_64-unknown-linux-gnu-threads", "linux/amd64", AllocGlibc, Glibc, true},
	} {
		for _, strip := range []string{"none", "symbols"} {
			name := c.file + "-" + strip
			bin := filepath.Join(dir, name)
			p := mustPlatform(t, c.platform)
			res, err := VerifyLibc(bin, p, c.libc)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			// The stripped build must really be stripped, or the contents path is untested.
			if res.Alloc.Symbols != (strip == "none") {
				t.Errorf("%s: symbols used %t, want %t", name, res.Alloc.Symbols, strip == "none")
			}
			if res.Alloc.Allocator != c.alloc || res.Alloc.MultiThreaded != c.threads {
				t.Errorf("%s: %+v, want allocator %s, multi-threaded %t", name, res.Alloc, c.alloc, c.threads)
			}
			warnErr := AllocatorWarning(res)
			warn := option.Render(warnErr, envName)
			if wantWarn := c.alloc == AllocMusl && c.threads; wantWarn != (warnErr != nil) {
				t.Errorf("%s: warning %q, want one: %t", name, warn, wantWarn)
			} else if warn != "" {
				for _, s := range []string{p.String() + " " + filepath.Base(bin) + " is multi-threaded", "musl malloc (mallocng)", `mimalloc = "0.1"`, "#[global_allocator]", AllocatorReadme, "MUSLRUST_CHEF_REQUIRE_ALLOCATOR"} {
					if !strings.Contains(warn, s) {
						t.Errorf("%s: warning %q lacks %q", name, warn, s)
					}
				}
			}
			for _, want := range []Allocator{AllocMimalloc, AllocJemalloc} {
				err := RequireAllocator(res, want)
				if (err == nil) != (c.alloc == want) {
					t.Errorf("%s: RequireAllocator(%s) = %v", name, want, err)
				}
				if err != nil {
					msg := option.Render(err, envName)
					wantStart := p.String() + " " + name + " allocates with " + c.alloc.Describe() + ", but MUSLRUST_CHEF_REQUIRE_ALLOCATOR=" + string(want) + ": " + bin + "; add "
					if !strings.HasPrefix(msg, wantStart) || strings.Contains(msg, "\n") {
						t.Errorf("%s: error %q, want one line starting %q", name, msg, wantStart)
					}
				}
			}
			if strip == "symbols" {
				t.Logf("%s: %s, multi-threaded %t", name, res.Alloc.Allocator.Describe(), res.Alloc.MultiThreaded)
			}
		}
	}
	if testinfra.CanRunArm64() {
		// The binaries are what they are said to be: the benchmark prints its allocator.
		for _, f := range []string{"aarch64-unknown-linux-musl-threads-mimalloc-symbols", "x86_64-unknown-linux-musl-threads-symbols"} {
			out, err := exec.Command(filepath.Join(dir, f), "2", "1000").CombinedOutput()
			want := "threads: allocator system"
			if strings.Contains(f, "mimalloc") {
				want = "threads: allocator mimalloc"
			}
			if err != nil || !strings.HasPrefix(string(out), want) {
				t.Errorf("%s: %v %q, want %q", f, err, out, want)
			}
		}
	}
}

// A C program on glibc and a Go program: glibc's malloc and the Go
// runtime, from the host's own toolchains.
func TestAllocatorOfCAndGo(t *testing.T) {
	for name, c := range map[string]struct {
		path string
		want Allocator
	}{
		"gcc -static": {fixtures.CStatic(t), AllocGlibc},
		"Go":          {fixtures.GoStatic(t, "amd64"), AllocGo},
	} {
		r, err := detectAllocatorFile(c.path)
		if err != nil || r.Allocator != c.want {
			t.Errorf("%s: %+v %v, want %s", name, r, err, c.want)
		}
	}
}

// detectAllocatorFile names the allocator linked into the ELF file at path.
func detectAllocatorFile(path string) (AllocReport, error) {
	ef, ev, err := inspectFile(path)
	if err != nil {
		return AllocReport{}, err
	}
	return detectAllocator(ef, ev), nil
}

// inspectFile parses the ELF file at path and scans it as Verify does.
func inspectFile(path string) (*elf.File, evidence, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, evidence{}, err
	}
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, evidence{}, err
	}
	ev, err := scanEvidence(ef, data)
	return ef, ev, err
}

// envName spells an option as the kit's environment variable (pkg/config's
// rendering, which this package cannot import).
func envName(r option.Ref) string {
	return "MUSLRUST_CHEF_" + strings.ToUpper(strings.ReplaceAll(string(r.Opt), "-", "_"))
}
