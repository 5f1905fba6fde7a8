// Package interrupt gives the targets a context that SIGINT and SIGTERM
// cancel. Mage's generated main cancels the target's context on SIGINT
// only (and exits 5 s later regardless); SIGTERM, which CI runners and
// `docker stop` send, would kill the process at once and leave temporary
// output behind, so the targets catch both themselves.
package interrupt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/magefile/mage/mg"
)

// Signal is the cause of a context cancelled by a signal.
type Signal struct{ Sig os.Signal }

func (s Signal) Error() string { return "interrupted by " + name(s.Sig) }

func name(sig os.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// Context returns ctx, cancelled with a Signal cause on SIGINT or SIGTERM.
// stop releases the signals.
func Context(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			cancel(Signal{Sig: sig})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(context.Canceled)
	}
}

// Fatal turns a target's error into mage's exit: an interruption exits
// 128+signal (130 for SIGINT, 143 for SIGTERM) with one line saying that
// nothing was replaced; anything else exits code.
func Fatal(ctx context.Context, target string, code int, err error) error {
	var s Signal
	if errors.As(context.Cause(ctx), &s) {
		n := 1
		if sn, ok := s.Sig.(syscall.Signal); ok {
			n = 128 + int(sn)
		}
		return mg.Fatal(n, fmt.Sprintf("%s: %s: stopped; outputs were left as they were before the run (nothing half-written)", target, s))
	}
	return mg.Fatal(code, target+": "+err.Error())
}
