package testinfra

import (
	"bytes"
	"os"
	"sync"
	"testing"
)

// SyncBuffer is a bytes.Buffer safe for BuildKit's progress goroutines.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ProgressLog collects BuildKit's plain progress and shows it only when the
// test fails (or with -v and MUSLRUST_CHEF_TEST_PROGRESS=1), so passing
// test logs stay short.
func ProgressLog(t testing.TB) *SyncBuffer {
	var buf SyncBuffer
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() && os.Getenv("MUSLRUST_CHEF_TEST_PROGRESS") == "1" {
			t.Logf("BuildKit progress:\n%s", buf.String())
		}
	})
	return &buf
}
