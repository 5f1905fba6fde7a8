//go:build linux || darwin || freebsd || netbsd || openbsd

package magerun

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// withLock runs f holding an exclusive flock per magefiles directory.
func withLock(dir string, f func() int) int {
	p := lockPath(dir)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "magerun: %v\n", err)
		return 1
	}
	lf, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "magerun: %v\n", err)
		return 1
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		fmt.Fprintf(os.Stderr, "magerun: locking %s: %v\n", p, err)
		return 1
	}
	return f()
}

// run replaces this process with the compiled binary, so that signals sent
// to the process group (Ctrl-C, CI cancellation) reach the targets directly
// rather than through mage's runner, which forwards none.
func run(bin string, args []string) int {
	err := syscall.Exec(bin, append([]string{bin}, args...), os.Environ())
	fmt.Fprintf(os.Stderr, "magerun: cannot run %s: %v\n", bin, err)
	return 1
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
