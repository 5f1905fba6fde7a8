package elfcheck

import (
	"os"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// BenchmarkVerify is one verify of a static glibc C program (or the
// binary named by MUSLRUST_CHEF_BENCH_BINARY, an amd64 one): the cost the
// pipeline pays per binary after a build.
func BenchmarkVerify(b *testing.B) {
	bin := os.Getenv("MUSLRUST_CHEF_BENCH_BINARY")
	if bin == "" {
		bin = fixtures.CStatic(b)
	}
	p := platform.Platform{OS: "linux", Arch: "amd64"}
	for i := 0; i < b.N; i++ {
		if _, err := Verify(bin, p); err != nil {
			b.Fatal(err)
		}
	}
}
