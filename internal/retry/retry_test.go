package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPollUntilDone(t *testing.T) {
	var calls []int
	err := Poll(context.Background(), Every(time.Millisecond), func(n int) (bool, error) {
		calls = append(calls, n)
		return n == 3, nil
	})
	if err != nil || len(calls) != 3 || calls[2] != 3 {
		t.Fatalf("Poll = %v after calls %v, want nil after 1 2 3", err, calls)
	}
}

func TestPollStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	err := Poll(context.Background(), Every(time.Millisecond), func(int) (bool, error) {
		n++
		return false, boom
	})
	if err != boom || n != 1 {
		t.Fatalf("Poll = %v after %d calls, want boom after 1", err, n)
	}
}

type cause struct{}

func (cause) Error() string { return "interrupted by SIGTERM" }

// A cancelled wait returns the context's cause, without waiting out the pause.
func TestPollCancelled(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	start := time.Now()
	go func() { time.Sleep(20 * time.Millisecond); cancel(cause{}) }()
	err := Poll(ctx, Every(time.Hour), func(int) (bool, error) { return false, nil })
	if _, ok := err.(cause); !ok {
		t.Fatalf("Poll = %v, want the cause", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Poll returned after %s: it waited out the pause", d)
	}

	ctx, stop := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer stop()
	err = Poll(ctx, Every(time.Millisecond), func(int) (bool, error) { return false, nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Poll = %v, want context.DeadlineExceeded", err)
	}
}

// A try that outlives the context is not followed by another one.
func TestPollNoTryAfterContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := Poll(ctx, Every(time.Millisecond), func(int) (bool, error) {
		n++
		cancel()
		return false, nil
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("Poll = %v after %d calls, want context.Canceled after 1", err, n)
	}
}

func TestLinear(t *testing.T) {
	p := Linear(100*time.Millisecond, time.Second)
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 3: 300 * time.Millisecond, 10: time.Second, 50: time.Second} {
		if got := p(n); got != want {
			t.Errorf("Linear(100ms, 1s)(%d) = %s, want %s", n, got, want)
		}
	}
	if got := Every(200 * time.Millisecond)(7); got != 200*time.Millisecond {
		t.Errorf("Every(200ms)(7) = %s", got)
	}
}
