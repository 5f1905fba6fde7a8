package publish_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir/crashtest"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// writeIndex stands in for BuildKit's oci exporter: a complete layout in dir.
func writeIndex(dir string) error {
	idx, err := random.Index(64, 1, 1)
	if err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx)
}

// imageBuild is image:build's name for the layouts it writes.
const imageBuild = "image:build's OCI image layout"

func layoutIndex(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteLayoutOwnsItsDirectory(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "layout")
	if err := publish.WriteLayout(dst, imageBuild, writeIndex); err != nil {
		t.Fatal(err)
	}
	first := layoutIndex(t, dst)
	// A failing build leaves the layout as it was.
	if err := publish.WriteLayout(dst, imageBuild, func(dir string) error {
		writeIndex(dir)
		return errors.New("solve failed")
	}); err == nil || err.Error() != "solve failed" {
		t.Fatalf("failed write: %v", err)
	}
	if layoutIndex(t, dst) != first {
		t.Fatal("a failed build changed the layout")
	}
	if err := publish.WriteLayout(dst, imageBuild, writeIndex); err != nil {
		t.Fatal(err)
	}
	if layoutIndex(t, dst) == first {
		t.Fatal("the layout was not replaced")
	}
	// Someone's directory: refused before the build, untouched.
	foreign := t.TempDir()
	os.WriteFile(filepath.Join(foreign, "precious.txt"), []byte("x"), 0o644)
	called := false
	err := publish.WriteLayout(foreign, imageBuild, func(string) error { called = true; return nil })
	want := "output: " + foreign + " is a non-empty directory muslrust-chef did not write (it has no .muslrust-chef file): refusing to replace it; set -output / MUSLRUST_CHEF_OUTPUT to oci:<a new or empty directory>"
	if err == nil || config.Explain(err) != want || called {
		t.Fatalf("foreign directory: %v (build ran: %t)\nwant %s", err, called, want)
	}
	if entries, _ := os.ReadDir(foreign); len(entries) != 1 || strings.Contains(entries[0].Name(), "muslrust") {
		t.Fatalf("foreign directory changed: %v", entries)
	}
}

func TestWriteLayoutCrashKeepsOldLayout(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "layout")
	if err := publish.WriteLayout(dst, imageBuild, writeIndex); err != nil {
		t.Fatal(err)
	}
	before := layoutIndex(t, dst)
	crashtest.Run(t, dst, func(dst string) { publish.WriteLayout(dst, imageBuild, writeIndex) })
	if layoutIndex(t, dst) != before {
		t.Fatal("the old layout changed after a crash before the swap")
	}
	if _, err := layout.FromPath(dst); err != nil {
		t.Fatalf("old layout unreadable: %v", err)
	}
	if err := publish.WriteLayout(dst, imageBuild, writeIndex); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dst)); len(entries) != 1 {
		t.Fatalf("leftovers of the killed run: %v", entries)
	}
}
