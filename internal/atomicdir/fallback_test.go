package atomicdir

import (
	"os"
	"path/filepath"
	"testing"
)

// Without RENAME_EXCHANGE the swap is two renames; a crash between them
// leaves dst missing and the old tree beside it, which the next run puts
// back before anything else.
func TestRenameTwiceCrashRecovers(t *testing.T) {
	forceRenameTwice = true
	defer func() { forceRenameTwice = false }()
	dst := filepath.Join(t.TempDir(), "plan")
	commit := func(content string) error {
		d, err := Begin(dst, Options{Writer: "test"})
		if err != nil {
			return err
		}
		defer d.Abort()
		os.WriteFile(filepath.Join(d.Path(), "f"), []byte(content), 0o644)
		return d.Commit()
	}
	if err := commit("old"); err != nil {
		t.Fatal(err)
	}
	if err := commit("second"); err != nil {
		t.Fatal(err)
	}
	testHookBetweenRenames = func(string) { panic("crash") }
	func() {
		defer func() { recover() }()
		commit("third")
	}()
	testHookBetweenRenames = nil
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Fatalf("the simulated crash did not stop between the renames: %v", err)
	}
	d, err := Begin(dst, Options{Writer: "test"})
	if err != nil {
		t.Fatal(err)
	}
	d.Abort()
	if b, err := os.ReadFile(filepath.Join(dst, "f")); err != nil || string(b) != "second" {
		t.Fatalf("old content not restored: %q %v", b, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dst))
	if len(entries) != 1 {
		t.Fatalf("leftovers: %v", entries)
	}
}
