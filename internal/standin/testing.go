package standin

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

var (
	once   sync.Once
	ref    string
	refErr error
)

// CacheDir is where downloaded .debs are kept between runs on one machine.
func CacheDir() string {
	return filepath.Join(testinfra.Root(), "cache", "standin")
}

// Image returns the stand-in builder index in the test registry, building it
// once per process (and once per machine: the registry keeps it).
func Image(t testing.TB) string {
	t.Helper()
	registry := testinfra.Registry(t)
	testinfra.Tool(t, "apt-get")
	testinfra.Tool(t, "dpkg-deb")
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		var res Result
		res, refErr = Ensure(ctx, Options{Registry: registry, CacheDir: CacheDir(), Log: os.Stderr})
		ref = res.Ref
		if refErr == nil {
			what := "found in the registry"
			if res.Built {
				what = "built and pushed"
			}
			t.Logf("stand-in builder %s: %s in %s", ref, what, res.Took.Round(time.Millisecond))
		}
	})
	if refErr != nil {
		testinfra.Missing(t, "stand-in builder image: "+refErr.Error(), "run: sudo scripts/provision.d/standin.sh")
	}
	return ref
}
