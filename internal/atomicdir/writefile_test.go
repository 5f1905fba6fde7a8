package atomicdir_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir/crashtest"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

var fileOpts = atomicdir.FileOptions{Fix: errors.New("choose another file")}

func putFile(dst, content string) error {
	return atomicdir.WriteFile(dst, 0o640, fileOpts, func(w io.Writer) error {
		_, err := io.WriteString(w, content)
		return err
	})
}

func readString(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// WriteFile: the content and mode asked for (whatever the umask), the
// parent created, a failing writer leaves the old file whole and nothing
// beside it, and what BeginFile refuses is refused.
func TestWriteFile(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "sub", "app.cdx.json")
	if err := putFile(dst, "one"); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, dst); got != "one" {
		t.Fatalf("written: %q", got)
	}
	if st, _ := os.Stat(dst); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
	boom := errors.New("boom")
	err := atomicdir.WriteFile(dst, 0o644, fileOpts, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if err != boom {
		t.Fatalf("the writer's error: %v, want it unchanged", err)
	}
	if got := readString(t, dst); got != "one" {
		t.Fatalf("after a failed write: %q", got)
	}
	if s := siblings(t, dst); len(s) != 1 {
		t.Fatalf("left beside the output: %v", s)
	}
	if err := putFile(dst, "two"); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, dst); got != "two" {
		t.Fatalf("replaced: %q", got)
	}
	link := filepath.Join(filepath.Dir(dst), "link.json")
	os.Symlink(filepath.Base(dst), link)
	if err := putFile(link, "three"); err == nil || err.Error() != link+" is a symbolic link: refusing to replace it; choose another file" {
		t.Errorf("a symbolic link: %v", err)
	}
	if err := putFile(filepath.Dir(dst), "three"); err == nil || !strings.Contains(err.Error(), " is a directory: refusing to replace it with a file") {
		t.Errorf("a directory: %v", err)
	}
}

// Killed between the complete write and the rename: the old file is
// whole, and the next write removes what the killed one left.
func TestWriteFileCrashBeforeSwap(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "app.spdx.json")
	if err := putFile(dst, "old"); err != nil {
		t.Fatal(err)
	}
	crashtest.Run(t, dst, func(dst string) { putFile(dst, "new") })
	if got := readString(t, dst); got != "old" {
		t.Fatalf("after the crash: %q", got)
	}
	if s := siblings(t, dst); len(s) != 2 {
		t.Fatalf("the killed run left no temporary directory: %v", s)
	}
	if err := putFile(dst, "next"); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, dst); got != "next" {
		t.Fatalf("next run: %q", got)
	}
	if s := siblings(t, dst); len(s) != 1 {
		t.Fatalf("leftovers not cleaned: %v", s)
	}
}

// Symlink makes a link, replaces a link (and a file) in one rename, and
// refuses a directory.
func TestSymlink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "zigcc-x86_64-unknown-linux-musl")
	for _, target := range []string{"/bin/one", "/bin/two"} {
		if err := atomicdir.Symlink(target, link, fileOpts); err != nil {
			t.Fatal(err)
		}
		if got, err := os.Readlink(link); err != nil || got != target {
			t.Fatalf("link -> %q (%v), want %q", got, err, target)
		}
	}
	os.Remove(link)
	os.WriteFile(link, []byte("a file"), 0o755)
	if err := atomicdir.Symlink("/bin/three", link, fileOpts); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Readlink(link); got != "/bin/three" {
		t.Fatalf("file replaced by a link to %q", got)
	}
	if s := siblings(t, link); len(s) != 1 {
		t.Fatalf("left beside the link: %v", s)
	}
	if err := atomicdir.Symlink("/bin/x", dir, fileOpts); err == nil || err.Error() != dir+" is a directory: refusing to replace it with a file; choose another file" {
		t.Errorf("a directory: %v", err)
	}
}

// Killed before the rename: the old link stays, the leftover goes next time.
func TestSymlinkCrashBeforeSwap(t *testing.T) {
	link := filepath.Join(t.TempDir(), "zigar-aarch64-unknown-linux-musl")
	if err := atomicdir.Symlink("/bin/old", link, fileOpts); err != nil {
		t.Fatal(err)
	}
	crashtest.Run(t, link, func(link string) { atomicdir.Symlink("/bin/new", link, fileOpts) })
	if got, _ := os.Readlink(link); got != "/bin/old" {
		t.Fatalf("after the crash: %q", got)
	}
	if s := siblings(t, link); len(s) != 2 {
		t.Fatalf("the killed run left no temporary directory: %v", s)
	}
	if err := atomicdir.Symlink("/bin/next", link, fileOpts); err != nil {
		t.Fatal(err)
	}
	if s := siblings(t, link); len(s) != 1 {
		t.Fatalf("leftovers not cleaned: %v", s)
	}
}

// Fix ends a refusal as a wrapped error: an option error in it stays
// reachable, so pkg/config can name the knob, and its text ends the message.
func TestFixNamesTheOption(t *testing.T) {
	dst := t.TempDir()
	os.WriteFile(filepath.Join(dst, "mine"), []byte("x"), 0o644)
	fix := option.Errorf("set %s to a new or empty directory", option.Env(option.Dist))
	for _, err := range []error{
		atomicdir.CheckFix(dst, fix),
		func() error { _, err := atomicdir.Begin(dst, atomicdir.Options{Fix: fix}); return err }(),
		atomicdir.WriteFile(dst, 0o644, atomicdir.FileOptions{Fix: fix}, func(io.Writer) error { return nil }),
	} {
		var oe *option.Error
		if !errors.As(err, &oe) || oe != fix {
			t.Errorf("%v: the fix is not in the chain", err)
		}
		if !strings.HasSuffix(err.Error(), "refusing to replace it; set the dist option to a new or empty directory") &&
			!strings.HasSuffix(err.Error(), "refusing to replace it with a file; set the dist option to a new or empty directory") {
			t.Errorf("message %q", err)
		}
	}
}
