package buildkit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

// Test helpers that start real infrastructure next to the shared one from
// scripts/services.sh: a second, fresh buildkitd and a registry with auth.

// connectShared connects to the buildkitd from scripts/services.sh.
func connectShared(t testing.TB, opts ...Option) Builder {
	t.Helper()
	addr := testinfra.Buildkitd(t)
	opts = append([]Option{WithHost(addr), WithProgress(testinfra.ProgressLog(t), "plain")}, opts...)
	b, err := Connect(context.Background(), opts...)
	if err != nil {
		t.Fatalf("Connect(%s): %v", addr, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// writeDockerConfig writes a Docker config dir holding credentials for host.
func writeDockerConfig(t testing.TB, host, user, pass string) string {
	t.Helper()
	dir := t.TempDir()
	auth := encodeAuth(user, pass)
	js := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}
