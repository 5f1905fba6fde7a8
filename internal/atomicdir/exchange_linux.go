package atomicdir

import (
	"errors"

	"golang.org/x/sys/unix"
)

var errNoExchange = errors.New("exchange not supported")

// forceRenameTwice makes exchange report no support (tests of the fallback).
var forceRenameTwice bool

// exchange swaps two paths in one step (renameat2 RENAME_EXCHANGE, Linux
// 3.15+): there is no instant at which dst is missing.
func exchange(a, b string) error {
	if forceRenameTwice {
		return errNoExchange
	}
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return errNoExchange
	}
	return err
}

// alive reports whether process pid exists (signal 0 checks without
// sending anything; EPERM means it exists under another user).
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
