package atomicdir_test

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir/crashtest"
)

// tree lists every file under dir with its content, and every directory.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if info.IsDir() {
			out = append(out, rel+"/")
			return nil
		}
		if info.Mode()&os.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			out = append(out, rel+"->"+l)
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if filepath.Base(p) == atomicdir.Marker {
			b = []byte("marker")
		}
		out = append(out, rel+"="+string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func write(t *testing.T, dst string, opts atomicdir.Options, files map[string]string) error {
	t.Helper()
	d, err := atomicdir.Begin(dst, opts)
	if err != nil {
		return err
	}
	defer d.Abort()
	for name, content := range files {
		p := filepath.Join(d.Path(), name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d.Commit()
}

func siblings(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

var opts = atomicdir.Options{Writer: "test", Fix: errors.New("choose another directory")}

func TestWriteAndReplace(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "out", "plan")
	if err := write(t, dst, opts, map[string]string{"a": "1", "d/b": "2"}); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dst); got != "./ .muslrust-chef=marker a=1 d/ d/b=2" {
		t.Fatalf("first write: %s", got)
	}
	if err := write(t, dst, opts, map[string]string{"c": "3"}); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dst); got != "./ .muslrust-chef=marker c=3" {
		t.Fatalf("replaced: %s", got)
	}
	if s := siblings(t, dst); len(s) != 1 || s[0] != "plan" {
		t.Fatalf("left beside the output: %v", s)
	}
	// Merge keeps what the new tree does not replace.
	merge := opts
	merge.Merge = true
	if err := write(t, dst, merge, map[string]string{"e/f": "4", "c": "5"}); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dst); got != "./ .muslrust-chef=marker c=5 e/ e/f=4" {
		t.Fatalf("merged: %s", got)
	}
	if err := write(t, dst, merge, map[string]string{"g": "6"}); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dst); got != "./ .muslrust-chef=marker c=5 e/ e/f=4 g=6" {
		t.Fatalf("merged twice: %s", got)
	}
	// An empty directory is not anyone's content.
	empty := filepath.Join(t.TempDir(), "empty")
	os.Mkdir(empty, 0o755)
	if err := write(t, empty, opts, map[string]string{"x": "1"}); err != nil {
		t.Fatal(err)
	}
}

// A non-empty directory without the marker, a file or a symbolic link is
// refused with one line and left exactly as it was.
func TestForeignIsRefused(t *testing.T) {
	home := t.TempDir()
	for name, content := range map[string]string{".bashrc": "x", "src/main.rs": "fn main() {}", ".ssh/id": "key"} {
		os.MkdirAll(filepath.Join(home, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(home, name), []byte(content), 0o600)
	}
	os.WriteFile(filepath.Join(home, "file"), []byte("f"), 0o644)
	os.Symlink("src", filepath.Join(home, "link"))
	before := tree(t, home)
	for _, c := range []struct{ dst, want string }{
		{home, home + " is a non-empty directory muslrust-chef did not write (it has no .muslrust-chef file): refusing to replace it; choose another directory"},
		{filepath.Join(home, "src"), "src is a non-empty directory muslrust-chef did not write"},
		{filepath.Join(home, "file"), "file exists and is not a directory: refusing to replace it; choose another directory"},
		{filepath.Join(home, "link"), "link is a symbolic link: refusing to replace it"},
		{"/", "/ is the root directory: refusing to replace it"},
	} {
		err := write(t, c.dst, opts, map[string]string{"a": "1"})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want %q", c.dst, err, c.want)
		}
	}
	// A "." given by the user: the working directory is someone's.
	wd, _ := os.Getwd()
	os.Chdir(home)
	err := write(t, ".", opts, map[string]string{"a": "1"})
	os.Chdir(wd)
	if err == nil || !strings.HasPrefix(err.Error(), ". is a non-empty directory muslrust-chef did not write") {
		t.Errorf(".: %v", err)
	}
	if after := tree(t, home); after != before {
		t.Fatalf("foreign directory changed:\n%s\n%s", before, after)
	}
}

// Killed between the complete write and the swap: the old content is
// whole, and the next run removes what the killed one left.
func TestCrashBeforeSwap(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "dist")
	if err := write(t, dst, opts, map[string]string{"old": "1", "d/old": "2"}); err != nil {
		t.Fatal(err)
	}
	crashtest.Run(t, dst, func(dst string) {
		write(t, dst, opts, map[string]string{"new": "3"})
	})
	if got := tree(t, dst); got != "./ .muslrust-chef=marker d/ d/old=2 old=1" {
		t.Fatalf("after the crash: %s", got)
	}
	if s := siblings(t, dst); len(s) != 2 {
		t.Fatalf("the killed run left no temporary directory: %v", s)
	}
	if err := write(t, dst, opts, map[string]string{"new": "4"}); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dst); got != "./ .muslrust-chef=marker new=4" {
		t.Fatalf("next run: %s", got)
	}
	if s := siblings(t, dst); len(s) != 1 {
		t.Fatalf("leftovers not cleaned: %v", s)
	}
}

// Killed before the swap, when the old content is the only copy: an error
// path that returns early must leave it too.
func TestAbortLeavesOld(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "dist")
	if err := write(t, dst, opts, map[string]string{"old": "1"}); err != nil {
		t.Fatal(err)
	}
	d, err := atomicdir.Begin(dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d.Path(), "half"), []byte("x"), 0o644)
	d.Abort()
	if got := tree(t, dst); got != "./ .muslrust-chef=marker old=1" {
		t.Fatalf("after abort: %s", got)
	}
	if s := siblings(t, dst); len(s) != 1 {
		t.Fatalf("abort left %v", s)
	}
}
