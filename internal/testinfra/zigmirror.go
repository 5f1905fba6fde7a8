package testinfra

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ZigMirror is ZigServer with a URL that never changes: the provisioned zig
// tarball stored once as a blob in the test registry and downloaded from
// the registry's blob endpoint, addressed by its own sha256. The builder
// Dockerfile's zig step has the URL among its build arguments, so
// ZigServer's per-process port gives every test process a new builder and
// a cold cook; with ZigMirror a second run reuses both, as a user's second
// run does. Skips/fails when the tarball or the registry is missing.
func ZigMirror(t testing.TB) (url, sha string) {
	t.Helper()
	registry := Registry(t)
	tarball := ZigTarball()
	data, err := os.ReadFile(tarball)
	if err != nil {
		Missing(t, "zig tarball: "+err.Error(), "run: sudo scripts/provision.d/musl.sh")
	}
	sum := sha256.Sum256(data)
	sha = hex.EncodeToString(sum[:])
	repo := registry + "/muslrust-chef-test/zig-mirror"
	url = "http://" + registry + "/v2/muslrust-chef-test/zig-mirror/blobs/sha256:" + sha
	if resp, err := http.Head(url); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return url, sha
		}
	}
	r, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := remote.WriteLayer(r, static.NewLayer(data, types.MediaType("application/octet-stream")), remote.WithContext(ctx)); err != nil {
		Missing(t, fmt.Sprintf("storing the zig tarball in the test registry %s: %v", registry, err), "run: sudo scripts/services.sh start")
	}
	return url, sha
}
