package elfcheck

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/allocbench"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

var elapsedNS = regexp.MustCompile(`elapsed_ns (\d+)`)

// BenchmarkMuslMallocVsMimalloc runs testdata/allocbench's threaded
// benchmark (4 threads x 200000 rounds of 16 B - 4 KiB allocations) built
// for x86_64 musl on musl's malloc, on mimalloc, and as static glibc,
// side by side in one run (alternating, so machine load hits all three
// alike), and reports each one's time and the musl/mimalloc ratio: the
// figure in README "Allocator on musl".
func BenchmarkMuslMallocVsMimalloc(b *testing.B) {
	testinfra.RequireHostArch(b, "amd64", "the benchmark runs the x86_64 binaries natively")
	dir := allocbench.Binaries(b)
	bins := []struct{ name, file string }{
		{"musl", "x86_64-unknown-linux-musl-threads-symbols"},
		{"mimalloc", "x86_64-unknown-linux-musl-threads-mimalloc-symbols"},
		{"glibc", "x86_64-unknown-linux-gnu-threads-symbols"},
	}
	total := make([]time.Duration, len(bins))
	for i := 0; i < b.N; i++ {
		for j, bin := range bins {
			out, err := exec.Command(filepath.Join(dir, bin.file), "4", "200000").CombinedOutput()
			if err != nil {
				b.Fatalf("%s: %v %s", bin.file, err, out)
			}
			m := elapsedNS.FindSubmatch(out)
			if m == nil {
				b.Fatalf("%s printed %q", bin.file, out)
			}
			ns, _ := strconv.ParseInt(string(m[1]), 10, 64)
			total[j] += time.Duration(ns)
		}
	}
	for j, bin := range bins {
		b.ReportMetric(float64(total[j].Milliseconds())/float64(b.N), bin.name+"-ms/run")
	}
	ratio := float64(total[0]) / float64(total[1])
	b.ReportMetric(ratio, "musl/mimalloc")
	b.ReportMetric(float64(total[0])/float64(total[2]), "musl/glibc")
	b.Logf("4 threads x 200000 allocations each, %d runs: musl malloc %s, mimalloc %s, glibc malloc %s per run; musl/mimalloc %.1fx",
		b.N, (total[0] / time.Duration(b.N)).Round(time.Millisecond), (total[1] / time.Duration(b.N)).Round(time.Millisecond),
		(total[2] / time.Duration(b.N)).Round(time.Millisecond), ratio)
}
