package atomicdir

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// What a killed run left beside an output (its process gone) is removed;
// another output's temporary directory, a user's look-alike, and the
// temporary directories of runs still going (another process's, and this
// process's own) are kept.
func TestSweepRemovesOnlyDeadTempsOfItsOwnNaming(t *testing.T) {
	parent := t.TempDir()
	dst := filepath.Join(parent, "layout")
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadPid := strconv.Itoa(dead.Process.Pid)
	stale := []string{
		filepath.Join(parent, ".layout.muslrust-chef-new-"+deadPid+"-1"),
		filepath.Join(parent, ".layout.muslrust-chef-new-"+deadPid+"-2"),
	}
	for _, p := range stale {
		if err := os.MkdirAll(filepath.Join(p, "blobs"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(parent, ".other.muslrust-chef-new-"+deadPid+"-1")
	mine := filepath.Join(parent, "layout.muslrust-chef-new-keep")
	os.Mkdir(other, 0o755)
	os.Mkdir(mine, 0o755)

	// A live writer in another process (flock(1) here, whose pid differs
	// from the one in the name, as in another PID namespace) holds its
	// directory's lock.
	held := filepath.Join(parent, ".layout.muslrust-chef-new-"+deadPid+"-3")
	os.Mkdir(held, 0o755)
	kill := holdLock(t, held)
	defer kill()

	d, err := Begin(dst, Options{Writer: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	if !IsTemp(filepath.Base(d.Path())) {
		t.Errorf("temp dir %s not of the kit's naming", d.Path())
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("stale %s survived", p)
		}
	}
	// A second writer of the same output in this process: the first's
	// directory is in use.
	f, err := BeginFile(dst+".tar", FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	d2, err := Begin(dst, Options{Writer: "test"})
	if err != nil {
		t.Fatal(err)
	}
	d2.Abort()
	for _, p := range []string{other, mine, held, d.Path(), filepath.Dir(f.Path())} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	kill()
	d.Abort()
	// The lock outlives flock(1) by a moment: its sleep child holds it.
	for i := 0; ; i++ {
		d3, err := Begin(dst, Options{Writer: "test"})
		if err != nil {
			t.Fatal(err)
		}
		d3.Abort()
		if _, err := os.Stat(held); os.IsNotExist(err) {
			break
		}
		if i == 200 {
			t.Fatalf("after its writer died, %s survived", held)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// holdLock has flock(1) hold p's lock until the returned function kills it.
func holdLock(t *testing.T, p string) func() {
	t.Helper()
	cmd := exec.Command("flock", "-x", p, "sleep", "30")
	// flock(1) passes its lock to the command: kill the process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("flock(1) (util-linux): %v", err)
	}
	kill := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }
	for i := 0; ; i++ {
		f, err := lockDir(p)
		if err != nil {
			break
		}
		f.Close()
		if i == 200 {
			kill()
			t.Fatal("flock(1) never took the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return kill
}

// A second writer of the same outputs waits, says so once, and gives up
// when its context ends; it gets the lock once the first releases it.
func TestLockParentTakesTurns(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	release, err := LockParent(context.Background(), dist, nil)
	if err != nil {
		t.Fatal(err)
	}
	told := 0
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	if _, err := LockParent(ctx, dist, func() { told++ }); err == nil {
		t.Fatal("second writer got the lock while the first held it")
	}
	if told != 1 {
		t.Errorf("waiting told %d times", told)
	}
	done := make(chan error)
	go func() {
		r2, err := LockParent(context.Background(), dist, nil)
		if err == nil {
			r2()
		}
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the lock was never handed over")
	}
}

// The lock is another process's too (flock(1) holds it): the run waits.
func TestLockParentSeesOtherProcess(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	defer holdLock(t, filepath.Dir(dist))()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := LockParent(ctx, dist, nil); err == nil {
		t.Fatal("took the lock another process holds")
	}
}

// A file output: written at Path, renamed over dst on Commit, nothing left
// beside it; Abort and a failed write leave the old file whole; a file
// Owned refuses, a directory and a symbolic link are refused.
func TestFile(t *testing.T) {
	parent := t.TempDir()
	dst := filepath.Join(parent, "app.tar")
	put := func(content string, opts FileOptions, commit bool) error {
		f, err := BeginFile(dst, opts)
		if err != nil {
			return err
		}
		defer f.Abort()
		if err := os.WriteFile(f.Path(), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if !commit {
			return nil
		}
		return f.Commit()
	}
	if err := put("one", FileOptions{}, true); err != nil {
		t.Fatal(err)
	}
	if err := put("two", FileOptions{}, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "one" {
		t.Fatalf("after an abort: %q", b)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Fatalf("left beside the output: %v", entries)
	}
	owned := FileOptions{Fix: errors.New("choose a new file"), Owned: func(p string) bool {
		b, _ := os.ReadFile(p)
		return string(b) == "one"
	}}
	if err := put("three", owned, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "three" {
		t.Fatalf("replaced: %q", b)
	}
	err := put("four", owned, true)
	want := dst + " exists and is not a file muslrust-chef wrote: refusing to replace it; choose a new file"
	if err == nil || err.Error() != want {
		t.Fatalf("foreign file: %v, want %q", err, want)
	}
	if b, _ := os.ReadFile(dst); string(b) != "three" {
		t.Fatalf("foreign file changed: %q", b)
	}
	os.Symlink("app.tar", filepath.Join(parent, "link.tar"))
	for _, c := range []struct{ dst, want string }{
		{parent, " is a directory: refusing to replace it with a file"},
		{filepath.Join(parent, "link.tar"), " is a symbolic link: refusing to replace it"},
	} {
		if _, err := BeginFile(c.dst, FileOptions{}); err == nil || err.Error() != c.dst+c.want+"; choose another path" {
			t.Errorf("%s: %v", c.dst, err)
		}
	}
}

// The temporary directory of a run still going (here under pid 1's name,
// its lock held) is not touched; a leftover of a dead process is
// (TestCrashBeforeSwap).
func TestKeepsTempOfLiveRun(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "dist")
	live := filepath.Join(filepath.Dir(dst), ".dist.muslrust-chef-new-1-123")
	if err := os.Mkdir(live, 0o755); err != nil {
		t.Fatal(err)
	}
	defer holdLock(t, live)()
	d, err := Begin(dst, Options{Writer: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("a live run's temporary directory was removed: %v", err)
	}
}
