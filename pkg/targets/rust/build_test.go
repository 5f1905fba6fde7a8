package rust

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/magefile/mage/mg"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

func s(v string) *string { return &v }

func copyApp(t *testing.T) string { return fixtures.CopyTree(t, "../../../testdata/app") }

// The rust:build and rust:cook targets themselves, as mage calls them:
// flags as pointers, the rest from the environment (BUILDKIT_HOST,
// MUSLRUST_CHEF_DIST); the image goes to an OCI layout.
func TestBuildAndCookTargets(t *testing.T) {
	t.Setenv("BUILDKIT_HOST", testinfra.Buildkitd(t))
	t.Setenv("BUILDKIT_PROGRESS", "quiet")
	builder := standin.Image(t)
	ws := copyApp(t)
	t.Setenv("MUSLRUST_CHEF_DIST", filepath.Join(ws, "dist"))
	t.Setenv("MUSLRUST_CHEF_CACHE", "off")
	t.Setenv("MUSLRUST_CHEF_BASE_IMAGE", "scratch")
	t.Setenv("MUSLRUST_CHEF_PLATFORMS", "linux/amd64")
	ctx := context.Background()

	if err := (Rust{}).Cook(ctx, s(ws), nil, nil, nil, s(builder), nil, nil, nil, nil); err != nil {
		t.Fatalf("rust:cook: %v", err)
	}
	oci := filepath.Join(t.TempDir(), "oci")
	err := (Rust{}).Build(ctx, s(ws), nil, nil, nil, nil, s("oci:"+oci), nil, s(builder), nil, nil, nil, nil)
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
	if _, err := os.Stat(filepath.Join(ws, "dist", "linux_amd64", "app")); err != nil {
		t.Fatal(err)
	}

	err = (Rust{}).Build(ctx, s(ws), s("nope"), nil, nil, nil, s("oci:"+oci), nil, s(builder), nil, nil, nil, nil)
	if err == nil || mg.ExitStatus(err) != 1 || err.Error() != `rust:build: bin "nope" not found; known bins: app` {
		t.Fatalf("unknown bin: %v (exit %d)", err, mg.ExitStatus(err))
	}
	err = (Rust{}).Build(ctx, s(ws), nil, nil, nil, nil, nil, nil, s(builder), nil, nil, s("split"), nil)
	if err == nil || !strings.Contains(err.Error(), "rust:build: no image name") {
		t.Fatalf("registry output without image: %v", err)
	}
}
