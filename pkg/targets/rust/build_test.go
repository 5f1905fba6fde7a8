package rust

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/magefile/mage/mg"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

func s(v string) *string { return &v }

func copyApp(t *testing.T) string { return fixtures.CopyTree(t, "../../../testdata/app") }

// testWorldBuilder leaves the builder unconfigured, so rust:* take the
// default path (the kit builds its own builder from
// images/muslrust-chef/Dockerfile in the same solve), and swaps only that
// Dockerfile's inputs for the test world's with the knobs a team behind a
// mirror sets: the musl stand-in as its base (MUSLRUST_CHEF_MUSLRUST_IMAGE)
// and zig from the npm tarball served on 127.0.0.1
// (MUSLRUST_CHEF_BUILDER_ARGS).
func testWorldBuilder(t *testing.T) {
	t.Helper()
	base := standin.MuslImage(t)
	zigURL, sha := testinfra.ZigMirror(t)
	t.Setenv("MUSLRUST_CHEF_BUILDER_IMAGE", "")
	os.Unsetenv("MUSLRUST_CHEF_BUILDER_IMAGE")
	t.Setenv("MUSLRUST_CHEF_MUSLRUST_IMAGE", base)
	t.Setenv("MUSLRUST_CHEF_BUILDER_ARGS", strings.Join([]string{
		"ZIG_VERSION=" + testinfra.ZigVersion, "ZIG_SHA256_AMD64=" + sha, "ZIG_SHA256_ARM64=" + sha,
		"ZIG_URL_AMD64=" + zigURL, "ZIG_URL_ARM64=" + zigURL}, ","))
}

// checkMuslBinary verifies a dist binary is a static musl executable for
// p and that it runs (arm64 through binfmt/QEMU) and prints the musl triple it
// was built for.
func checkMuslBinary(t *testing.T, bin string, p platform.Platform) {
	t.Helper()
	res, err := elfcheck.VerifyLibc(bin, p, elfcheck.Musl)
	if err != nil {
		t.Fatalf("verify %s: %v", bin, err)
	}
	if res.Libc != elfcheck.Musl {
		t.Fatalf("%s links %q, want musl", bin, res.Libc)
	}
	if p.Arch == "arm64" {
		testinfra.RequireArm64(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, out)
	}
	if want := " on " + p.Triple("musl"); !strings.Contains(string(out), want) {
		t.Errorf("%s printed %q, want %q", bin, out, want)
	}
}

// The rust:build and rust:cook targets themselves, as mage calls them:
// flags as pointers, the rest from the environment (BUILDKIT_HOST,
// MUSLRUST_CHEF_DIST), no builder and no platforms given: the kit's own
// builder cross-compiles both default musl triples; the image goes to an
// OCI layout.
func TestBuildAndCookTargets(t *testing.T) {
	t.Setenv("BUILDKIT_HOST", testinfra.Buildkitd(t))
	t.Setenv("BUILDKIT_PROGRESS", "quiet")
	testWorldBuilder(t)
	ws := copyApp(t)
	t.Setenv("MUSLRUST_CHEF_DIST", filepath.Join(ws, "dist"))
	t.Setenv("MUSLRUST_CHEF_CACHE", "off")
	t.Setenv("MUSLRUST_CHEF_BASE_IMAGE", "scratch")
	t.Setenv("MUSLRUST_CHEF_PLATFORMS", "")
	os.Unsetenv("MUSLRUST_CHEF_PLATFORMS")
	ctx := context.Background()

	if err := (Rust{}).Cook(ctx, s(ws), nil, nil, nil, nil, nil, nil, nil, nil, nil); err != nil {
		t.Fatalf("rust:cook: %v", err)
	}
	oci := filepath.Join(t.TempDir(), "oci")
	err := (Rust{}).Build(ctx, s(ws), nil, nil, nil, nil, s("oci:"+oci), nil, nil, nil, nil, nil, nil, nil)
	if err != nil {
		t.Fatalf("rust:build: %v", err)
	}
	p, err := layout.FromPath(oci)
	if err != nil {
		t.Fatalf("rust:build wrote no OCI layout: %v", err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] == "" {
		t.Fatalf("layout index: %+v %v", im, err)
	}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		pl, _ := platform.Parse(p)
		checkMuslBinary(t, filepath.Join(ws, "dist", pl.OS+"_"+pl.Arch, "app"), pl)
	}

	err = (Rust{}).Build(ctx, s(ws), s("nope"), nil, nil, nil, s("oci:"+oci), nil, nil, nil, nil, nil, nil, nil)
	if err == nil || mg.ExitStatus(err) != 2 || err.Error() != `rust:build: bin "nope" not found; known bins: app` {
		t.Fatalf("unknown bin: %v (exit %d)", err, mg.ExitStatus(err))
	}
	err = (Rust{}).Build(ctx, s(ws), nil, s("linux/amd64"), nil, nil, nil, nil, nil, nil, nil, s("split"), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "rust:build: no image name") {
		t.Fatalf("registry output without image: %v", err)
	}
}
