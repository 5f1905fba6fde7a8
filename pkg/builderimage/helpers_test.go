package builderimage_test

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/builderimage"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
)

func uniq() string { return fmt.Sprintf("%d", time.Now().UnixNano()) }

// cleanEnv removes what the tag, cache and label resolution read from the
// environment, so the tests do not depend on the CI they run in.
func cleanEnv(t testing.TB) {
	t.Helper()
	for _, k := range []string{"GITHUB_REF", "GITHUB_HEAD_REF", "GITHUB_SHA", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY",
		"DOCKER_METADATA_OUTPUT_JSON", "GITHUB_OUTPUT", "MUSLRUST_CHEF_TAGS", "MUSLRUST_CHEF_CACHE", "MUSLRUST_CHEF_PLATFORMS",
		"MUSLRUST_CHEF_BUILDER_IMAGE", "MUSLRUST_CHEF_PUBLISH_IMAGE", "MUSLRUST_CHEF_VERSION", "MUSLRUST_CHEF_REVISION", "MUSLRUST_CHEF_SOURCE",
		"MUSLRUST_CHEF_PUSH_BY_DIGEST", "MUSLRUST_CHEF_CARGO_CHEF_VERSION", "MUSLRUST_CHEF_CARGO_CHEF_SHA256", "MUSLRUST_CHEF_BUILDER_ARGS",
		"MUSLRUST_CHEF_MUSLRUST_IMAGE", "MUSLRUST_CHEF_BUILDER_OUTPUT", "MUSLRUST_CHEF_DIGESTS", "MUSLRUST_CHEF_CROSS_TOOLCHAIN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func connect(t testing.TB, addr string) buildkit.Builder {
	t.Helper()
	opts := []buildkit.Option{buildkit.WithHost(addr), buildkit.WithProgress(testinfra.ProgressLog(t), "plain")}
	// A test's SOURCE_DATE_EPOCH reaches the builds as the targets pass it
	// (config.BuildkitOptions): pinned timestamps, reproducible digests.
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		opts = append(opts, buildkit.WithSourceDateEpoch(v))
	}
	b, err := buildkit.Connect(context.Background(), opts...)
	if err != nil {
		t.Fatalf("Connect(%s): %v", addr, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// assertOneLine checks the message a target prints (config.Explain: the
// options named by their knobs).
func assertOneLine(t testing.TB, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error containing %q", want)
	}
	msg := config.Explain(err)
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err.Error())
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error lacks %q: %v", w, msg)
		}
	}
}

// planPush plans an image:push with the settings as the target gives them.
func planPush(ctx context.Context, s config.ImageSettings) (builderimage.PushRequest, error) {
	return builderimage.PlanPush(ctx, s.Options(ctx)...)
}

// absent checks that nothing was pushed under ref.
func absent(t testing.TB, ref string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	regtest.AssertAbsent(t, r)
}

// fileFromImage returns a file's content from an image's flattened
// filesystem.
func fileFromImage(t testing.TB, img v1.Image, path string) []byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	want := strings.TrimPrefix(path, "/")
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s not in the image", path)
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "./") == want {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
}

// runHelperFrom extracts the helper CLI from img and runs it here with
// args; an arm64 helper runs through QEMU (binfmt), which proves it is a
// working arm64 binary, not merely labelled as one.
func runHelperFrom(t testing.TB, img v1.Image, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "muslrust-chef")
	if err := os.WriteFile(bin, fileFromImage(t, img, "/usr/local/bin/muslrust-chef"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"} // no TARGETARCH: the helper falls back to its own architecture
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running the helper from the image (%v): %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// stepVertex matches the Dockerfile's own steps in BuildKit's progress
// ("[linux/arm64 3/5] RUN ..."), as opposed to loading contexts or exporting.
// BuildKit prefixes a stage name ("stage-0") once a step mounts the build
// context, so the name is optional too.
var stepVertex = regexp.MustCompile(`^\[(linux/[a-z0-9]+ )?([a-z0-9_.-]+ )?[0-9]+/[0-9]+\] (RUN|COPY|WORKDIR|ADD) `)

func steps(res *buildkit.Result) (executed, cached []string) {
	for _, v := range res.Vertexes {
		if !stepVertex.MatchString(v.Name) {
			continue
		}
		if v.Executed() {
			executed = append(executed, v.Name)
		} else if v.Cached {
			cached = append(cached, v.Name)
		}
	}
	return executed, cached
}

func requireInfra(t testing.TB) (registry, buildkitd string) {
	t.Helper()
	return testinfra.Registry(t), testinfra.Buildkitd(t)
}
