//go:build unix

package atomicdir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muslrust-chef/muslrust-chef/internal/retry"
)

var errInUse = errors.New("in use by another process")

// LockParent takes an exclusive lock on dst's parent directory, so that two
// runs writing the same outputs (dist/ from two rust:build at once) take
// turns instead of mixing their files. While another process holds it,
// waiting is called once and the lock is retried until ctx ends. The
// returned function releases it. The lock is flock(2)'s: it dies with its
// process, so a killed run never leaves it held.
func LockParent(ctx context.Context, dst string, waiting func()) (func(), error) {
	_, parent, err := makeParent(dst)
	if err != nil {
		return nil, err
	}
	var unlock func()
	err = retry.Poll(ctx, retry.Every(200*time.Millisecond), func(n int) (bool, error) {
		f, err := lockDir(parent)
		if err == nil {
			unlock = func() { f.Close() }
			return true, nil
		}
		if !errors.Is(err, errInUse) {
			return false, fmt.Errorf("locking %s: %w", parent, err)
		}
		if n == 1 && waiting != nil {
			waiting()
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return unlock, nil
}

// lockDir takes path's flock without waiting.
func lockDir(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, errInUse
		}
		return nil, err
	}
	return f, nil
}

// makeParent creates the directory dst goes in and returns dst's absolute
// path and that directory.
func makeParent(dst string) (abs, parent string, err error) {
	if abs, err = filepath.Abs(dst); err != nil {
		return "", "", err
	}
	parent = filepath.Dir(abs)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", "", fmt.Errorf("cannot create %s: %w; choose a writable path", parent, unwrap(err))
	}
	return abs, parent, nil
}
