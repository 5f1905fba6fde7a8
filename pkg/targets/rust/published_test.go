package rust

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/image"
)

// A team that publishes its builder, end to end with the targets: image:push
// builds the production builder Dockerfile (on the musl stand-in, zig from
// the test world's mirror: the same MUSLRUST_CHEF_MUSLRUST_IMAGE and
// MUSLRUST_CHEF_BUILDER_ARGS as the default path) for both platforms and
// pushes it, writing the reference to $GITHUB_OUTPUT; rust:build then uses
// that reference as MUSLRUST_CHEF_BUILDER_IMAGE with nothing else about the
// builder configured, for both platforms, to the registry. The binaries are
// static musl and both images run.
func TestBuildWithPublishedBuilder(t *testing.T) {
	testinfra.RequireArm64(t)
	bk := testinfra.Buildkitd(t)
	registry := testinfra.Registry(t)
	testinfra.DockerSocket(t)
	docker := testinfra.Tool(t, "docker")
	testWorldBuilder(t)
	for _, k := range []string{"GITHUB_REF", "GITHUB_HEAD_REF", "GITHUB_SHA", "DOCKER_METADATA_OUTPUT_JSON",
		"MUSLRUST_CHEF_PLATFORMS", "MUSLRUST_CHEF_TAGS", "MUSLRUST_CHEF_PUSH_BY_DIGEST", "MUSLRUST_CHEF_STRATEGY"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	regtest.EmptyDockerConfig(t)
	t.Setenv("BUILDKIT_HOST", bk)
	t.Setenv("BUILDKIT_PROGRESS", "quiet")
	uniq := fmt.Sprintf("%d", time.Now().UnixNano())
	ctx := context.Background()

	// image:push, as the kit's CI job runs it; cargo-chef's release
	// download is GitHub's, out of this machine's reach.
	t.Setenv("MUSLRUST_CHEF_PUBLISH_IMAGE", registry+"/muslrust-chef-test/published-builder")
	t.Setenv("MUSLRUST_CHEF_TAGS", "t"+uniq)
	t.Setenv("MUSLRUST_CHEF_CACHE", "off")
	t.Setenv("MUSLRUST_CHEF_CARGO_CHEF_VERSION", "none")
	ghOut := filepath.Join(t.TempDir(), "github_output")
	t.Setenv("GITHUB_OUTPUT", ghOut)
	start := time.Now()
	if err := (image.Image{}).Push(ctx, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil); err != nil {
		t.Fatalf("image:push: %v", err)
	}
	t.Logf("image:push of the builder, both platforms: %s", time.Since(start).Round(100*time.Millisecond))
	data, err := os.ReadFile(ghOut)
	if err != nil {
		t.Fatal(err)
	}
	var builder string
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "image="); ok {
			builder = v
		}
	}
	if builder == "" {
		t.Fatalf("image:push wrote no image= to $GITHUB_OUTPUT: %q", data)
	}

	// rust:build with only the published builder named.
	for _, k := range []string{"MUSLRUST_CHEF_PUBLISH_IMAGE", "MUSLRUST_CHEF_TAGS", "MUSLRUST_CHEF_MUSLRUST_IMAGE", "MUSLRUST_CHEF_BUILDER_ARGS", "MUSLRUST_CHEF_CARGO_CHEF_VERSION", "GITHUB_OUTPUT"} {
		os.Unsetenv(k)
	}
	t.Setenv("MUSLRUST_CHEF_BUILDER_IMAGE", builder)
	ws := copyApp(t)
	t.Setenv("MUSLRUST_CHEF_DIST", filepath.Join(ws, "dist"))
	t.Setenv("MUSLRUST_CHEF_BASE_IMAGE", "scratch")
	app := registry + "/muslrust-chef-test/published-app:t" + uniq
	t.Setenv("MUSLRUST_CHEF_IMAGE", app)
	start = time.Now()
	out, err := captureStderr(t, func() error {
		return (Rust{}).Build(ctx, s(ws), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil)
	})
	if err != nil {
		t.Fatalf("rust:build: %v\n%s", err, lastLines(out, 40))
	}
	t.Logf("rust:build on the published builder, both platforms: %s", time.Since(start).Round(100*time.Millisecond))
	for _, want := range []string{"in " + builder, "--target x86_64-unknown-linux-musl", "--target aarch64-unknown-linux-musl"} {
		if !strings.Contains(out, want) {
			t.Errorf("rust:build log lacks %q:\n%s", want, lastLines(out, 40))
		}
	}

	r, err := name.ParseReference(app, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("%s: %v", app, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range im.Manifests {
		if m.Platform != nil {
			seen[m.Platform.OS+"/"+m.Platform.Architecture] = true
		}
	}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		pl, _ := platform.Parse(p)
		if !seen[p] {
			t.Errorf("%s has no %s image: %v", app, p, seen)
			continue
		}
		checkMuslBinary(t, filepath.Join(ws, "dist", pl.OS+"_"+pl.Arch, "app"), pl)
		runCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		if out, err := exec.CommandContext(runCtx, docker, "pull", "-q", "--platform", p, app).CombinedOutput(); err != nil {
			cancel()
			t.Fatalf("docker pull --platform %s %s: %v\n%s", p, app, err, out)
		}
		got, err := exec.CommandContext(runCtx, docker, "run", "--rm", "--platform", p, app).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("docker run --platform %s %s: %v\n%s", p, app, err, got)
		}
		if want := "hello from app v1 (4 words) on " + pl.Triple("musl"); !strings.Contains(string(got), want) {
			t.Errorf("the %s image printed %q, want %q", p, got, want)
		}
	}
}
