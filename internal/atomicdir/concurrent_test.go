package atomicdir_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

const envConcurrent = "ATOMICDIR_TEST_CONCURRENT_DST"

// Processes writing the same file at the same time (parallel links each
// writing the zig wrapper's LFS64 source) all succeed: one's sweep of
// leftovers never takes another's fresh temporary directory for a dead
// run's.
func TestWriteFileConcurrentProcesses(t *testing.T) {
	if dst := os.Getenv(envConcurrent); dst != "" {
		for i := 0; i < 150; i++ {
			if err := putFile(dst, "same content"); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		}
		os.Exit(0)
	}
	dst := filepath.Join(t.TempDir(), "muslrust-chef-lfs64.c")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	outs := make([][]byte, len(errs))
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestWriteFileConcurrentProcesses$", "-test.count=1")
			cmd.Env = append(os.Environ(), envConcurrent+"="+dst)
			outs[i], errs[i] = cmd.CombinedOutput()
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %s: %v\n%s", strconv.Itoa(i), err, outs[i])
		}
	}
	if got := readString(t, dst); got != "same content" {
		t.Errorf("content %q", got)
	}
	if s := siblings(t, dst); len(s) != 1 {
		t.Errorf("left beside the output: %v", s)
	}
}
