package builder_test

import (
	"context"
	"debug/elf"
	"path/filepath"
	"strings"
	"testing"

	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// The targets run in the user's Rust workspace, which is no Go module: the
// helper still compiles, from the kit's own module, for both platforms.
func TestCompileHelperOutsideAGoModule(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("GOFLAGS", "")
	ps := []platform.Platform{{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"}}
	dir, cleanup, err := builder.Context(context.Background(), ps)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	for _, p := range ps {
		f, err := elf.Open(filepath.Join(dir, muslrustchef.HelperName(p.Arch)))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[p.Arch]
		if f.Machine != want {
			t.Errorf("%s helper is %v", p, f.Machine)
		}
		f.Close()
	}
}

// The platforms compile at the same time; when one fails, the error is
// that platform's go build failure, not the cancellation it caused in the
// others.
func TestCompileHelperReportsTheFailingPlatform(t *testing.T) {
	ps := []platform.Platform{{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "nosucharch"}}
	dir, _, err := builder.Context(context.Background(), ps)
	if err == nil {
		t.Fatalf("compiled for %v into %s", ps, dir)
	}
	msg := err.Error()
	for _, want := range []string{"for linux/nosucharch", "unsupported GOOS/GOARCH pair linux/nosucharch", "run go build"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "context canceled") || strings.Contains(msg, "\n") {
		t.Errorf("error %q is not the failing platform's one line", msg)
	}
}
