//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package magerun

import (
	"os"
	"os/exec"
)

// withLock has no file lock here: runs are serialised only on Unix.
func withLock(dir string, f func() int) int { return f() }

func run(bin string, args []string) int {
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 1
	}
	return 0
}

func alive(int) bool { return true }
