// Package tmpout makes the temporary directories that outputs are written
// into before they are renamed into place, and removes the ones an earlier
// run left behind when it was killed (SIGKILL, a power cut, mage's cleanup
// timeout) before it could remove them itself.
//
// A temporary directory is named .<base>.tmp-<random> beside its
// destination (same file system, so the final rename is atomic) and is
// flock'ed by the process writing it for as long as it exists. Locks die
// with their process, so a directory of that name whose lock can be taken
// belongs to nobody and is removed; one being written by a concurrent run
// is left alone.
package tmpout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

var errInUse = errors.New("in use by another process")

// Dir is a locked temporary directory beside a destination.
type Dir struct {
	Path string
	lock *os.File
}

// Prefix is the name prefix of dst's temporary directories.
func Prefix(dst string) string { return "." + filepath.Base(dst) + ".tmp-" }

// Beside creates a temporary directory beside dst (creating dst's parent),
// after removing stale ones of dst's own naming.
func Beside(dst string) (*Dir, error) {
	parent := filepath.Dir(dst)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	Sweep(dst)
	path, err := os.MkdirTemp(parent, Prefix(dst))
	if err != nil {
		return nil, err
	}
	f, err := lockDir(path, false)
	if err != nil {
		os.RemoveAll(path)
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return &Dir{Path: path, lock: f}, nil
}

// Remove deletes the directory (what is left of it after a rename) and
// releases its lock. It is safe to call more than once.
func (d *Dir) Remove() error {
	if d == nil || d.lock == nil {
		return nil
	}
	err := os.RemoveAll(d.Path)
	d.lock.Close()
	d.lock = nil
	return err
}

// Sweep removes the temporary directories of dst's naming (including a
// swap's leftover .old) that no live process holds, and returns their paths.
func Sweep(dst string) []string {
	parent, prefix := filepath.Dir(dst), Prefix(dst)
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		p := filepath.Join(parent, e.Name())
		f, err := lockDir(p, true)
		if err != nil {
			continue // held by a running writer, or not ours to judge
		}
		if os.RemoveAll(p) == nil {
			removed = append(removed, p)
		}
		f.Close()
	}
	return removed
}

func lockDir(path string, nonBlocking bool) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if nonBlocking {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errInUse
		}
		return nil, err
	}
	return f, nil
}

// LockParent takes an exclusive lock on dst's parent directory, so that two
// runs writing the same outputs (dist/ from two rust:build at once) take
// turns instead of mixing their files. While another process holds it,
// waiting is called once and the lock is retried until ctx ends. The
// returned function releases it.
func LockParent(ctx context.Context, dst string, waiting func()) (func(), error) {
	abs, err := filepath.Abs(dst)
	if err != nil {
		return nil, err
	}
	parent := filepath.Dir(abs)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	told := false
	for {
		f, err := lockDir(parent, true)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, errInUse) {
			return nil, fmt.Errorf("locking %s: %w", parent, err)
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
