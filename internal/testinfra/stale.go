package testinfra

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StaleAfter is how old a scratch directory of a test helper must be before
// RemoveStale deletes it: longer than any single build or benchmark cell
// that can still be using it (the slowest, a loaded musl stand-in build,
// takes about 30 minutes).
const StaleAfter = 6 * time.Hour

// RemoveStale deletes the directories in dir whose names start with prefix
// and that were last modified more than age ago: the scratch directories a
// killed test run left behind (a finished run removes its own). It returns
// how many it removed; a directory it cannot remove is left for the next
// run.
func RemoveStale(dir, prefix string, age time.Duration) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	removed := 0
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < age {
			continue
		}
		if os.RemoveAll(filepath.Join(dir, e.Name())) == nil {
			removed++
		}
	}
	return removed
}
