package fail

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/magefile/mage/mg"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/internal/interrupt"
)

func TestFatal(t *testing.T) {
	usage := option.Usagef("no image given: pass %s or set %s", option.Flag(option.Image), option.Env(option.Image))
	build := option.Errorf("has label %s=%q; set %s to override it", "libc", "glibc", option.Env(option.Libc))
	for _, c := range []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"usage", fmt.Errorf("config: %w", usage), 2, "rust:sbom: config: no image given: pass -image or set MUSLRUST_CHEF_IMAGE"},
		{"build", fmt.Errorf("builder:\n%w", build), 1, `rust:sbom: builder: has label libc="glibc"; set MUSLRUST_CHEF_LIBC to override it`},
		{"plain", errors.New("registry 127.0.0.1:1 refused the connection"), 1, "rust:sbom: registry 127.0.0.1:1 refused the connection"},
	} {
		err := Fatal(context.Background(), "rust:sbom", c.err)
		if got := mg.ExitStatus(err); got != c.code {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.code)
		}
		if err == nil || err.Error() != c.msg {
			t.Errorf("%s: message %v\nwant         %s", c.name, err, c.msg)
		}
	}
	if err := Fatal(context.Background(), "rust:sbom", nil); err != nil {
		t.Errorf("Fatal(nil) = %v", err)
	}
}

// An interrupted run reports the signal, not the error it caused, even a
// usage error.
func TestFatalInterrupted(t *testing.T) {
	for sig, code := range map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(interrupt.Signal{Sig: sig})
		err := Fatal(ctx, "rust:build", option.Usagef("set %s", option.Env(option.Image)))
		if got := mg.ExitStatus(err); got != code {
			t.Errorf("%s: exit %d, want %d", sig, got, code)
		}
		want := "rust:build: interrupted by " + map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig] +
			": stopped; outputs were left as they were before the run (nothing half-written)"
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v\nwant %s", sig, err, want)
		}
	}
}
