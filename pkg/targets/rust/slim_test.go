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
)

func str(s string) *string { return &s }

func dist(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "dist")
	for _, arch := range []string{"amd64", "arm64"} {
		os.MkdirAll(filepath.Join(d, "linux_"+arch), 0o755)
		data, err := os.ReadFile(fixtures.GoStatic(t, arch))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "linux_"+arch, "svc"), data, 0o755)
	}
	return d
}

func TestSlimFlagsBeatEnvironment(t *testing.T) {
	t.Setenv("MUSLRUST_CHEF_OUTPUT", "registry")
	t.Setenv("MUSLRUST_CHEF_DIST", "/nonexistent")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	out := filepath.Join(t.TempDir(), "oci")
	err := Rust{}.Slim(context.Background(), nil, nil, str(dist(t)), str("scratch"), str("oci:"+out), nil, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := p.ImageIndex()
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "latest" {
		t.Fatalf("layout index: %+v", im.Manifests)
	}
}

func TestSlimUsageErrorsExitTwo(t *testing.T) {
	cases := map[string]func() error{
		"platform": func() error {
			return Rust{}.Slim(context.Background(), nil, str("linux/riscv64"), nil, nil, nil, nil, nil, nil, nil, nil)
		},
		"output": func() error {
			return Rust{}.Slim(context.Background(), nil, nil, nil, nil, str("s3:bucket"), nil, nil, nil, nil, nil)
		},
		"epoch": func() error {
			t.Setenv("SOURCE_DATE_EPOCH", "soon")
			return Rust{}.Slim(context.Background(), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil)
		},
	}
	for name, call := range cases {
		err := call()
		if err == nil || mg.ExitStatus(err) != 2 || !strings.HasPrefix(err.Error(), "rust:slim: ") {
			t.Errorf("%s: %v (exit %d)", name, err, mg.ExitStatus(err))
		}
	}
}

func TestSlimFailureExitsOne(t *testing.T) {
	d := dist(t)
	os.Remove(filepath.Join(d, "linux_arm64", "svc"))
	err := Rust{}.Slim(context.Background(), str("svc"), nil, str(d), str("scratch"), str("oci:"+filepath.Join(t.TempDir(), "o")), nil, nil, nil, nil, nil)
	if err == nil || mg.ExitStatus(err) != 1 || !strings.Contains(err.Error(), "linux_arm64/svc: binary not found") {
		t.Fatalf("%v (exit %d)", err, mg.ExitStatus(err))
	}
}
