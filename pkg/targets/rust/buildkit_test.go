package rust

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dockerclient "github.com/moby/moby/client"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// captureStderr runs f with os.Stderr going to a file (the targets log the
// BuildKit resolution and BuildKit's progress there) and returns what it got.
func captureStderr(t *testing.T, f func() error) (string, error) {
	t.Helper()
	file, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = file
	ferr := f()
	os.Stderr = old
	file.Close()
	out, err := os.ReadFile(file.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(out), ferr
}

// With no BUILDKIT_HOST and no buildx builder on this machine's Docker
// 20.10 (its built-in BuildKit has no named contexts), rust:cook starts the
// kit's BuildKit container (the stand-in moby/buildkit; host network and a
// buildkitd.toml so it reaches the plain-HTTP test registry), and rust:build
// reuses it and finds the cook layer in its volume. No builder either: the
// fresh container builds the kit's own (musl, zig) as users get it.
func TestCookAndBuildOnStartedBuildkit(t *testing.T) {
	dockerHost := testinfra.DockerSocket(t)
	bkImage := standin.BuildkitImage(t)
	testWorldBuilder(t)
	name := standin.UseStartedBuildkit(t, dockerHost)
	cli, err := dockerclient.New(dockerclient.WithHost(dockerHost))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	t.Setenv("BUILDKIT_PROGRESS", "plain")
	// A workspace without dependencies: the point is where BuildKit runs
	// and what its volume keeps, not cargo (the other tests cover that),
	// so the fresh container's cook costs little beyond building the builder.
	ws := t.TempDir()
	fixtures.WriteFile(t, ws, "Cargo.toml", "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
	fixtures.WriteFile(t, ws, "Cargo.lock", "version = 3\n\n[[package]]\nname = \"tiny\"\nversion = \"0.1.0\"\n")
	fixtures.WriteFile(t, ws, "src/main.rs", "fn main() { println!(\"tiny\"); }\n")
	t.Setenv("MUSLRUST_CHEF_DIST", filepath.Join(ws, "dist"))
	t.Setenv("MUSLRUST_CHEF_CACHE", "off")
	t.Setenv("MUSLRUST_CHEF_BASE_IMAGE", "scratch")
	t.Setenv("MUSLRUST_CHEF_PLATFORMS", "linux/amd64")
	ctx := context.Background()

	start := time.Now()
	out, err := captureStderr(t, func() error {
		return (Rust{}).Cook(ctx, s(ws), nil, nil, nil, nil, nil, nil, nil, nil, nil)
	})
	if err != nil {
		t.Fatalf("rust:cook: %v\n%s", err, lastLines(out, 40))
	}
	t.Logf("rust:cook on a new BuildKit container: %s", time.Since(start).Round(100*time.Millisecond))
	if cookCached(out) {
		t.Error("rust:cook found its step cached in a container that was just created")
	}
	for _, want := range []string{
		"buildkit: BUILDKIT_HOST is unset",
		"buildkit: no buildx builder is selected",
		"buildkit: not using the Docker daemon's built-in BuildKit",
		"buildkit: starting container " + name + " from " + bkImage + ", network host",
		"buildkit: using BuildKit at docker-container://" + name,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rust:cook log lacks %q:\n%s", want, resolutionLines(out))
		}
	}
	ins, err := cli.ContainerInspect(ctx, name, dockerclient.ContainerInspectOptions{})
	if err != nil || !ins.Container.State.Running {
		t.Fatalf("container %s after rust:cook: %v", name, err)
	}
	startedAt := ins.Container.State.StartedAt

	start = time.Now()
	oci := filepath.Join(t.TempDir(), "oci")
	out, err = captureStderr(t, func() error {
		return (Rust{}).Build(ctx, s(ws), nil, nil, nil, nil, s("oci:"+oci), nil, nil, nil, nil, nil, nil, nil, nil)
	})
	if err != nil {
		t.Fatalf("rust:build: %v\n%s", err, lastLines(out, 40))
	}
	t.Logf("rust:build on the reused container: %s", time.Since(start).Round(100*time.Millisecond))
	if !strings.Contains(out, "buildkit: reusing the running container "+name) {
		t.Errorf("rust:build did not reuse the container:\n%s", resolutionLines(out))
	}
	if !cookCached(out) {
		t.Errorf("rust:build rebuilt the cook step instead of finding it in the container's volume:\n%s", lastLines(out, 60))
	}
	amd64, _ := platform.Parse("linux/amd64")
	res, err := elfcheck.VerifyLibc(filepath.Join(ws, "dist", "linux_amd64", "tiny"), amd64, elfcheck.Musl)
	if err != nil || res.Libc != elfcheck.Musl {
		t.Fatalf("dist/linux_amd64/tiny: %v (libc %q)", err, res.Libc)
	}
	ins, err = cli.ContainerInspect(ctx, name, dockerclient.ContainerInspectOptions{})
	if err != nil || ins.Container.State.StartedAt != startedAt {
		t.Errorf("the container was restarted between the runs: %v", err)
	}
}

func resolutionLines(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "buildkit: ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cookCached finds, in BuildKit's plain progress, the cook step (the RUN
// that builds the skeleton) marked CACHED.
func cookCached(out string) bool {
	ids := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && strings.HasPrefix(f[0], "#") && strings.Contains(l, "cook") && strings.Contains(l, "RUN") {
			ids[f[0]] = true
		}
	}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && ids[f[0]] && f[1] == "CACHED" {
			return true
		}
	}
	return false
}
