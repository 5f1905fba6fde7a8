package buildkit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dockerclient "github.com/moby/moby/client"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
)

// Errors that name an option are asserted as users see them, through
// config.Explain (pkg/config imports pkg/buildkit, hence this external
// test package).

// An image that cannot be pulled fails in one line naming the image and the
// knob that overrides it, and leaves no container behind.
func TestStartUnpullableImage(t *testing.T) {
	dockerHost := testinfra.DockerSocket(t)
	registry := testinfra.Registry(t)
	cli, err := dockerclient.New(dockerclient.WithHost(dockerHost))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	name := fmt.Sprintf("muslrust-chef-test-nopull-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		if _, err := cli.ContainerRemove(ctx, name, dockerclient.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("removing %s: %v", name, err)
		}
		if _, err := cli.VolumeRemove(ctx, name+buildkit.StateSuffix, dockerclient.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("removing volume %s: %v", name+buildkit.StateSuffix, err)
		}
	})
	missing := registry + "/muslrust-chef-test/no-such-buildkit:v0.0.0@sha256:" + strings.Repeat("0", 64)
	_, err = buildkit.Connect(context.Background(), buildkit.WithDockerConfigDir(t.TempDir()), buildkit.WithDockerHost(dockerHost),
		buildkit.WithBuildkitImage(missing), buildkit.WithContainerName(name), buildkit.WithLog(testinfra.ProgressLog(t)))
	if err == nil {
		t.Fatal("started a container from an image that does not exist")
	}
	msg := config.Explain(err)
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, want := range []string{"cannot pull the BuildKit image " + missing, "MUSLRUST_CHEF_BUILDKIT_IMAGE", buildkit.HostEnv} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, err := cli.ContainerInspect(context.Background(), name, dockerclient.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("a container was left behind: %v", err)
	}
	t.Log(msg)
}
