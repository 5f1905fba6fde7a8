package magerun

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/internal/faults"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
)

// downstream writes a module like a downstream repository's: a magefiles/
// directory and a zero-install mage.go calling Main (this checkout through
// a replace directive).
func downstream(t *testing.T, greeting string) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	repo := filepath.Clean(filepath.Join(filepath.Dir(here), "..", ".."))
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	fixtures.WriteFile(t, dir, "go.sum", string(sum))
	fixtures.WriteFile(t, dir, "go.mod", fmt.Sprintf(`module example.com/downstream

go 1.24

require (
	github.com/magefile/mage v1.17.2
	github.com/muslrust-chef/muslrust-chef v0.0.0
)

replace github.com/muslrust-chef/muslrust-chef => %s
`, repo))
	fixtures.WriteFile(t, dir, "mage.go", `//go:build ignore

package main

import (
	"os"

	"github.com/muslrust-chef/muslrust-chef/pkg/magerun"
)

func main() { os.Exit(magerun.Main()) }
`)
	writeMagefile(t, dir, greeting)
	return dir
}

func writeMagefile(t *testing.T, dir, greeting string) {
	t.Helper()
	fixtures.WriteFile(t, dir, "magefiles/magefile.go", `//go:build mage

package main

import (
	"context"
	"fmt"
	"time"
)

// Hello greets after a moment, so that concurrent runs overlap.
func Hello(ctx context.Context, who string) error {
	time.Sleep(300 * time.Millisecond)
	fmt.Println("`+greeting+`", who)
	return ctx.Err()
}
`)
}

// Four `go run mage.go hello` at once in one checkout, the first time
// (nothing compiled yet) and after the magefile changed: every run
// succeeds and says its own line; nothing is left in magefiles/.
func TestConcurrentRunsInOneCheckout(t *testing.T) {
	var result, intact string
	faults.Record(t, "4 concurrent go run mage.go in one checkout (twice)", &result, &intact)
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("go not on PATH: %v", err)
	}
	dir := downstream(t, "hello")
	cache := t.TempDir()
	t.Setenv("MAGEFILE_CACHE", cache)
	t.Setenv("GOFLAGS", "-mod=mod")
	for round, greeting := range []string{"hello", "bonjour"} {
		writeMagefile(t, dir, greeting)
		start := time.Now()
		outs := make([]string, 4)
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range outs {
			// Staggered like people or CI jobs starting them: a run that
			// lists magefiles/ while another compiles is what plain mage
			// trips over (it sees and then loses mage_output_file.go).
			time.Sleep(300 * time.Millisecond)
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				cmd := exec.Command("go", "run", "mage.go", "hello", fmt.Sprint("run", i))
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				outs[i], errs[i] = string(out), err
			}(i)
		}
		wg.Wait()
		for i := range outs {
			want := fmt.Sprintf("%s run%d", greeting, i)
			if errs[i] != nil || !strings.Contains(outs[i], want) {
				t.Errorf("round %d run %d: %v\n%s", round, i, errs[i], outs[i])
			}
		}
		entries, _ := os.ReadDir(filepath.Join(dir, "magefiles"))
		if len(entries) != 1 {
			t.Errorf("magefiles/ holds %d entries after the runs", len(entries))
		}
		compiled, _ := os.ReadDir(filepath.Join(cache, "magerun"))
		bins := 0
		for _, e := range compiled {
			if atomicdir.IsTemp(e.Name()) {
				t.Errorf("a temporary compile output is left in the cache: %s", e.Name())
			}
			if !strings.HasPrefix(e.Name(), "lock-") {
				bins++
			}
		}
		if bins != round+1 {
			t.Errorf("the cache holds %d compiled binaries after round %d, want %d (one per magefile content)", bins, round+1, round+1)
		}
		took := time.Since(start).Round(100 * time.Millisecond)
		t.Logf("round %d (%s): 4 concurrent runs in %s", round, greeting, took)
		result += fmt.Sprintf("round %d: 4 x exit 0 in %s; ", round+1, took)
	}
	result = strings.TrimSuffix(result, "; ")
	intact = "magefiles/ untouched (no mage_output_file.go); magefile edit picked up"
}

func TestRunsTarget(t *testing.T) {
	for args, want := range map[string]bool{
		"build": true, "-v build": true, "-t 5m rust:build -bin=x": true, "-t=5m x": true,
		"": false, "-l": false, "-h rust:build": false, "-compile out": false, "-v": false, "-init": false,
	} {
		if got := runsTarget(strings.Fields(args)); got != want {
			t.Errorf("%q: %v", args, got)
		}
	}
}
