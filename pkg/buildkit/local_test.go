package buildkit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir/crashtest"
)

// exportInto does what a solve with a local output does around BuildKit's
// exporter: begin, the exporter's files, commit.
func exportInto(dir string, files map[string]string) error {
	d, err := beginLocal(&LocalOutput{Dir: dir, Fix: errors.New("set -dist / MUSLRUST_CHEF_DIST to a new or empty directory")})
	if err != nil {
		return err
	}
	defer d.Abort()
	for name, content := range files {
		p := filepath.Join(d.Path(), name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			return err
		}
	}
	return d.Commit()
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			got[rel] = string(b)
		}
		return nil
	})
	return got
}

// -dist=$HOME: a directory of the user's is refused before any solve, and
// left as it was.
func TestLocalOutputRefusesForeignDirectory(t *testing.T) {
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, ".bashrc"), []byte("alias x=y"), 0o644)
	os.MkdirAll(filepath.Join(home, "linux_amd64"), 0o755)
	os.WriteFile(filepath.Join(home, "linux_amd64", "app"), []byte("mine"), 0o644)
	err := exportInto(home, map[string]string{"linux_amd64/app": "built"})
	want := "local output: " + home + " is a non-empty directory muslrust-chef did not write (it has no .muslrust-chef file): refusing to replace it; set -dist / MUSLRUST_CHEF_DIST to a new or empty directory"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}
	if got := readTree(t, home); len(got) != 2 || got[".bashrc"] != "alias x=y" || got["linux_amd64/app"] != "mine" {
		t.Fatalf("the directory changed: %v", got)
	}
	if entries, _ := os.ReadDir(filepath.Dir(home)); len(entries) != 1 {
		t.Fatalf("something was left beside it: %v", entries)
	}
}

// Killed between the export and the swap: dist keeps every old binary.
func TestLocalOutputCrashKeepsOldDist(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	if err := exportInto(dist, map[string]string{"linux_amd64/app": "old amd64"}); err != nil {
		t.Fatal(err)
	}
	if err := exportInto(dist, map[string]string{"linux_arm64/app": "old arm64"}); err != nil {
		t.Fatal(err)
	}
	crashtest.Run(t, dist, func(dist string) {
		exportInto(dist, map[string]string{"linux_amd64/app": "new amd64", "linux_arm64/app": "new arm64"})
	})
	got := readTree(t, dist)
	if len(got) != 3 || got["linux_amd64/app"] != "old amd64" || got["linux_arm64/app"] != "old arm64" || !strings.Contains(got[atomicdir.Marker], "muslrust-chef") {
		t.Fatalf("after the crash: %v", got)
	}
	if err := exportInto(dist, map[string]string{"linux_amd64/app": "new amd64"}); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, dist); got["linux_amd64/app"] != "new amd64" || got["linux_arm64/app"] != "old arm64" {
		t.Fatalf("next run: %v", got)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dist)); len(entries) != 1 {
		t.Fatalf("leftovers of the killed run: %v", entries)
	}
}
