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
	"sync/atomic"
	"syscall"
	"time"

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

// received is the last signal a Context saw: mage's own SIGINT handler
// may cancel the parent context first, so the cause alone can miss it.
var received atomic.Value

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
			received.Store(Signal{Sig: sig})
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

// Interrupted reports the signal that cancelled ctx, if one did.
func Interrupted(ctx context.Context) (Signal, bool) {
	var s Signal
	found := errors.As(context.Cause(ctx), &s)
	// Both handlers get the signal at once; give ours a moment to record it.
	for i := 0; !found && ctx.Err() != nil && i < 50; i++ {
		s, found = received.Load().(Signal)
		if !found {
			time.Sleep(5 * time.Millisecond)
		}
	}
	return s, found
}

// Stopped is mage's exit for an interrupted target: 128+signal (130 for
// SIGINT, 143 for SIGTERM) with one line saying that nothing was replaced.
func Stopped(target string, s Signal) error {
	n := 1
	if sn, ok := s.Sig.(syscall.Signal); ok {
		n = 128 + int(sn)
	}
	return mg.Fatal(n, fmt.Sprintf("%s: %s: stopped; outputs were left as they were before the run (nothing half-written)", target, s))
}
