package standin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dockerclient "github.com/moby/moby/client"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

// UseStartedBuildkit sets up the environment in which a target finds no
// BUILDKIT_HOST and no buildx builder, so that it starts (or reuses) the
// kit's own BuildKit container through the Docker daemon at dockerHost: the
// stand-in moby/buildkit image, a container name of this test's own, host
// networking and a buildkitd.toml that trusts the test registry. The
// container and its volume are removed when the test ends. It returns the
// container's name.
func UseStartedBuildkit(t *testing.T, dockerHost string) string {
	t.Helper()
	registry := testinfra.Registry(t)
	bkImage := BuildkitImage(t)
	cli, err := dockerclient.New(dockerclient.WithHost(dockerHost))
	if err != nil {
		t.Fatal(err)
	}
	name := strings.ReplaceAll("muslrust-chef-test-"+time.Now().Format("150405.000000"), ".", "-")
	t.Cleanup(func() {
		defer cli.Close()
		ctx := context.Background()
		if _, err := cli.ContainerRemove(ctx, name, dockerclient.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("removing %s: %v", name, err)
		}
		if _, err := cli.VolumeRemove(ctx, name+"_state", dockerclient.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("removing volume: %v", err)
		}
	})
	toml := filepath.Join(t.TempDir(), "buildkitd.toml")
	if err := os.WriteFile(toml, []byte("[registry.\""+registry+"\"]\n  http = true\n  insecure = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BUILDKIT_HOST", "")
	t.Setenv("DOCKER_HOST", dockerHost)
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no buildx builder selected
	t.Setenv("MUSLRUST_CHEF_BUILDKIT_IMAGE", bkImage)
	t.Setenv("MUSLRUST_CHEF_BUILDKIT_CONTAINER", name)
	t.Setenv("MUSLRUST_CHEF_BUILDKIT_NETWORK", "host")
	t.Setenv("MUSLRUST_CHEF_BUILDKITD_CONFIG", toml)
	return name
}
