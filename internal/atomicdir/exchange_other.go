//go:build !linux

package atomicdir

import "errors"

var errNoExchange = errors.New("exchange not supported")

var forceRenameTwice bool

// exchange is Linux's renameat2 RENAME_EXCHANGE; elsewhere the swap is two
// renames (renameTwice).
func exchange(a, b string) error { return errNoExchange }

// alive is conservative where it cannot be checked: a leftover is kept.
func alive(pid int) bool { return true }
