// Package crashtest kills a writer between its complete write and the swap
// into place, the way a killed process would stop there: the test binary
// runs itself again for one test, and in that child atomicdir's hook exits
// the process without any deferred cleanup.
package crashtest

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
)

const (
	envTest = "MUSLRUST_CHEF_CRASHTEST"
	envDir  = "MUSLRUST_CHEF_CRASHTEST_DIR"
	// exitCode is what the child exits with at the swap.
	exitCode = 86
)

// Run calls write(dir) in a child process that dies at the swap of the
// first atomicdir replacement; it returns once the child has died there.
// In the child, Run never returns. t must be a top-level test, and the
// test must reach Run in the child too (its setup runs there again).
func Run(t *testing.T, dir string, write func(dir string)) {
	t.Helper()
	if os.Getenv(envTest) == t.Name() {
		atomicdir.TestHookBeforeSwap = func(string) { os.Exit(exitCode) }
		write(os.Getenv(envDir))
		// Reached only when the write never came to its swap.
		os.Exit(0)
	}
	if strings.Contains(t.Name(), "/") {
		t.Fatalf("crashtest.Run needs a top-level test, not %s", t.Name())
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	// The child dies before its own t.TempDir cleanup runs: its temporary
	// directories go under one of the parent's, which the parent removes.
	cmd.Env = append(os.Environ(), envTest+"="+t.Name(), envDir+"="+dir, "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitCode {
		t.Fatalf("the writer did not come to its swap (child exit: %v):\n%s", err, out)
	}
}
