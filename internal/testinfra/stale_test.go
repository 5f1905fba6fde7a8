package testinfra

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	mk := func(name string, mtime time.Time) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(p, "root"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	mk("buildkitd-old", old)
	mk("buildkitd-new", time.Now())
	mk("other-old", old)
	if err := os.WriteFile(filepath.Join(dir, "buildkitd-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(dir, "buildkitd-file"), old, old); err != nil {
		t.Fatal(err)
	}
	if n := RemoveStale(dir, "buildkitd-", time.Hour); n != 1 {
		t.Errorf("removed %d, want 1", n)
	}
	for name, want := range map[string]bool{"buildkitd-old": false, "buildkitd-new": true, "other-old": true, "buildkitd-file": true} {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != want {
			t.Errorf("%s: exists %t, want %t", name, err == nil, want)
		}
	}
}
