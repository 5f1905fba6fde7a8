// Package retry is the kit's one poll loop: wait for something another
// process owns (a buildkitd starting, a lock held by another run) without
// spinning and without outliving the caller's context. Registry requests
// are not retried here: go-containerregistry's backoff is their one retry
// policy (pkg/publish).
package retry

import (
	"context"
	"time"
)

// Poll calls try with n = 1, 2, … until it reports done or fails, pausing
// pause(n) after the n-th call. Once ctx ends it returns context.Cause(ctx)
// (ctx.Err() unless the context was cancelled with a cause), so that an
// interrupted wait says what interrupted it.
func Poll(ctx context.Context, pause func(n int) time.Duration, try func(n int) (done bool, err error)) error {
	for n := 1; ; n++ {
		done, err := try(n)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		t := time.NewTimer(pause(n))
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// Every pauses d between calls.
func Every(d time.Duration) func(int) time.Duration {
	return func(int) time.Duration { return d }
}

// Linear pauses n·step after the n-th call, at most max: quick first
// retries for something about to be ready, then a steady pace.
func Linear(step, max time.Duration) func(int) time.Duration {
	return func(n int) time.Duration { return min(time.Duration(n)*step, max) }
}
