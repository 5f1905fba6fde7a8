package testinfra

import (
	"os"
	"path/filepath"
	"testing"
)

// MimallocVersion is the version of Debian bookworm's mimalloc source
// package that scripts/provision.d/mimalloc.sh fetches; keep them in step.
const MimallocVersion = "2.0.9+ds-2"

// MimallocDir is where scripts/provision.d/mimalloc.sh unpacks the source
// package (src/, include/, Debian's patches applied).
func MimallocDir() string {
	return filepath.Join(Root(), "cache", "mimalloc", "mimalloc-"+MimallocVersion)
}

// MimallocSource returns the unpacked mimalloc source tree, or skips/fails
// when it has not been provisioned.
func MimallocSource(t testing.TB) string {
	t.Helper()
	dir := MimallocDir()
	for _, f := range []string{"include/mimalloc.h", "src/static.c"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			Missing(t, "mimalloc "+MimallocVersion+" sources: "+err.Error(), "run: sudo bash scripts/provision.d/mimalloc.sh")
		}
	}
	return dir
}
