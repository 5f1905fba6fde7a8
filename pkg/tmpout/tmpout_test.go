package tmpout

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSweepRemovesOnlyUnheldDirsOfItsOwnNaming(t *testing.T) {
	parent := t.TempDir()
	dst := filepath.Join(parent, "layout")
	// A killed run's leftovers: plain directories nobody locks.
	stale := []string{filepath.Join(parent, ".layout.tmp-123"), filepath.Join(parent, ".layout.tmp-456.old")}
	for _, p := range stale {
		if err := os.MkdirAll(filepath.Join(p, "blobs"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Not ours: another output's temp dir and a user's file.
	other := filepath.Join(parent, ".other.tmp-1")
	mine := filepath.Join(parent, "layout.tmp-keep")
	os.Mkdir(other, 0o755)
	os.Mkdir(mine, 0o755)

	// A live writer in another process holds its directory.
	held := filepath.Join(parent, ".layout.tmp-789")
	os.Mkdir(held, 0o755)
	// flock(1) passes its lock to the command: kill the process group.
	cmd := exec.Command("flock", "-x", held, "sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("flock(1) (util-linux): %v", err)
	}
	kill := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }
	defer kill()
	waitLocked(t, held)

	d, err := Beside(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(d.Path), ".layout.tmp-") {
		t.Errorf("temp dir %s", d.Path)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("stale %s survived", p)
		}
	}
	for _, p := range []string{other, mine, held, d.Path} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	// Our own live directory is held too: a concurrent sweep keeps it.
	if got := Sweep(dst); len(got) != 0 {
		t.Errorf("swept live dirs %v", got)
	}
	d.Remove()
	kill()
	// Wait() returns when flock(1) is gone; its sleep child, which holds
	// the lock, dies a moment later.
	var got []string
	for i := 0; i < 200 && len(got) == 0; i++ {
		if got = Sweep(dst); len(got) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if len(got) != 1 || got[0] != held {
		t.Errorf("after the writer died: swept %v, want %s", got, held)
	}
}

func waitLocked(t *testing.T, p string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		f, err := lockDir(p, true)
		if err != nil {
			return
		}
		f.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("flock(1) never took the lock")
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
