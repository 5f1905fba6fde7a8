package image_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/magefile/mage/mg"

	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/targets/image"
)

// These tests call the targets as mage does (pointer flags, environment)
// and check exit codes, messages, $GITHUB_OUTPUT and that failed runs push
// nothing.

func s(v string) *string { return &v }
func b(v bool) *bool     { return &v }

func uniq() string { return fmt.Sprintf("%d", time.Now().UnixNano()) }

// env isolates a test from the machine's and CI's environment and points
// BuildKit at the shared buildkitd with plain progress.
func env(t *testing.T) {
	t.Helper()
	for _, k := range []string{"GITHUB_REF", "GITHUB_HEAD_REF", "GITHUB_SHA", "DOCKER_METADATA_OUTPUT_JSON", "GITHUB_OUTPUT",
		"MUSLRUST_CHEF_TAGS", "MUSLRUST_CHEF_CACHE", "MUSLRUST_CHEF_PLATFORMS", "MUSLRUST_CHEF_BUILDER_IMAGE", "MUSLRUST_CHEF_PUBLISH_IMAGE",
		"MUSLRUST_CHEF_PUSH_BY_DIGEST", "MUSLRUST_CHEF_CARGO_CHEF_VERSION", "MUSLRUST_CHEF_DIGESTS", "MUSLRUST_CHEF_BUILDER_OUTPUT", "MUSLRUST_CHEF_BUILDER_ARGS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("BUILDKIT_PROGRESS", "quiet")
	t.Setenv("MUSLRUST_CHEF_CARGO_CHEF_VERSION", "none") // no GitHub here
	t.Setenv("MUSLRUST_CHEF_CROSS_TOOLCHAIN", "none")    // nor ziglang.org
	regtest.EmptyDockerConfig(t)
}

func wantExit(t *testing.T, err error, code int, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected exit %d with %q, got success", code, want)
	}
	if got := mg.ExitStatus(err); got != code {
		t.Errorf("exit status %d, want %d (%v)", got, code, err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	t.Log(err)
}

func absent(t *testing.T, ref string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	regtest.AssertAbsent(t, r)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestPushBuildkitUnreachable(t *testing.T) {
	registry := testinfra.Registry(t)
	env(t)
	t.Setenv("BUILDKIT_HOST", "unix:///nonexistent/buildkitd.sock")
	repo := registry + "/muslrust-chef-test/target-unreachable-" + uniq()
	err := image.Image{}.Push(context.Background(), s(repo), nil, s("t1"), s("off"), nil, nil, nil, nil, nil, nil, nil)
	wantExit(t, err, 1, "image:push: BuildKit at unix:///nonexistent/buildkitd.sock", "not answering", "BUILDKIT_HOST")
	absent(t, repo+":t1")
}

func TestPushRegistryUnreachable(t *testing.T) {
	bk := testinfra.Buildkitd(t)
	base := testimages.Busybox(t)
	env(t)
	t.Setenv("BUILDKIT_HOST", bk)
	host := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	err := image.Image{}.Push(context.Background(), s(host+"/x/builder"), s("linux/amd64"), s("t1"), s("off"), nil, s(base), nil, nil, nil, nil, nil)
	wantExit(t, err, 1, host)
}

func TestPushCredentialsRefused(t *testing.T) {
	bk := testinfra.Buildkitd(t)
	base := testimages.Busybox(t)
	env(t)
	t.Setenv("BUILDKIT_HOST", bk)
	reg := regtest.New(t, regtest.WithBasicAuth("ci", "right"))
	regtest.DockerConfig(t, reg.Host, "ci", "wrong")
	repo := reg.Host + "/team/builder"
	err := image.Image{}.Push(context.Background(), s(repo), s("linux/amd64"), s("1.0.0"), s("off"), nil, s(base), nil, nil, nil, nil, nil)
	wantExit(t, err, 1, "refused the credentials", "docker login "+reg.Host)

	// Merge with the same wrong credentials is refused before anything is pushed.
	digest := repo + "@sha256:" + strings.Repeat("0", 64)
	err = image.Image{}.Merge(context.Background(), s(digest), s("1.0.0"))
	wantExit(t, err, 1, "refused the credentials", "nothing was pushed")

	regtest.DockerConfig(t, reg.Host, "ci", "right")
	r, _ := name.NewRepository(repo)
	if tags, err := remote.List(r); err == nil && len(tags) > 0 {
		t.Errorf("tags pushed despite refused credentials: %v", tags)
	}
	// The right credentials from the Docker config file are used.
	if err := (image.Image{}).Push(context.Background(), s(repo), s("linux/amd64"), s("1.0.0"), s("off"), nil, s(base), nil, nil, nil, nil, nil); err != nil {
		t.Fatalf("push with the right credentials: %v", err)
	}
}

func TestPushUnknownPlatformAndBadTag(t *testing.T) {
	registry := testinfra.Registry(t)
	env(t)
	t.Setenv("BUILDKIT_HOST", "unix:///nonexistent/never-dialled.sock")
	repo := registry + "/muslrust-chef-test/target-usage-" + uniq()
	err := image.Image{}.Push(context.Background(), s(repo), s("linux/amd64,windows/amd64"), s("t1"), nil, nil, nil, nil, nil, nil, nil, nil)
	wantExit(t, err, 2, `unsupported platform "windows/amd64"`)

	t.Setenv("GITHUB_REF", "refs/tags/muslrust-chef-v1.x")
	err = image.Image{}.Push(context.Background(), s(repo), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil)
	wantExit(t, err, 2, `git tag "muslrust-chef-v1.x"`, "muslrust-chef-vX.Y.Z")
	absent(t, repo+":1")
	absent(t, repo+":t1")
}

// No BUILDKIT_HOST, no buildx builder: the Docker daemon's own BuildKit
// (classic store) cannot build an index of two platforms, so image:push
// goes on to start a BuildKit container; an image that cannot be pulled
// stops it in one line naming the knob, before anything is pushed.
func TestPushMultiPlatformWithoutBuildKit(t *testing.T) {
	dockerHost := testinfra.ClassicStoreDockerd(t)
	registry := testinfra.Registry(t)
	env(t)
	t.Setenv("BUILDKIT_HOST", "")
	t.Setenv("DOCKER_HOST", dockerHost)
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no buildx builder selected
	missing := registry + "/muslrust-chef-test/no-such-buildkit:v0@sha256:" + strings.Repeat("1", 64)
	t.Setenv("MUSLRUST_CHEF_BUILDKIT_IMAGE", missing)
	repo := registry + "/muslrust-chef-test/target-daemon-" + uniq()
	err := image.Image{}.Push(context.Background(), s(repo), s("linux/amd64,linux/arm64"), s("t1"), s("off"), nil, nil, nil, nil, nil, nil, nil)
	wantExit(t, err, 1, "image:push: cannot pull the BuildKit image "+missing, "MUSLRUST_CHEF_BUILDKIT_IMAGE", "BUILDKIT_HOST")
	absent(t, repo+":t1")
}

// Split publishing through the targets: two push-by-digest runs write their
// digests to $GITHUB_OUTPUT, merge reads them and writes the index's.
func TestSplitTargetsWithGitHubOutput(t *testing.T) {
	bk := testinfra.Buildkitd(t)
	registry := testinfra.Registry(t)
	base := testimages.Busybox(t)
	env(t)
	t.Setenv("BUILDKIT_HOST", bk)
	t.Setenv("MUSLRUST_CHEF_MUSLRUST_IMAGE", base)
	t.Setenv("GITHUB_REF", "refs/tags/muslrust-chef-v3.1.0")
	repo := registry + "/muslrust-chef-test/target-split-" + uniq()
	var images []string
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		out := filepath.Join(t.TempDir(), "github_output")
		t.Setenv("GITHUB_OUTPUT", out)
		if err := (image.Image{}).Push(context.Background(), s(repo), s(p), nil, s("off"), b(true), nil, nil, nil, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		kv := readOutput(t, out)
		pushed := repo + "@" + kv["digest"]
		assertOutput(t, out, "digest="+kv["digest"]+"\nimage="+pushed+"\n")
		// The digest written is the image pushed for that platform.
		r, err := name.ParseReference(pushed, name.Insecure)
		if err != nil {
			t.Fatalf("GITHUB_OUTPUT digest %q: %v", kv["digest"], err)
		}
		img, err := remote.Image(r)
		if err != nil {
			t.Fatalf("%s from GITHUB_OUTPUT: %v", pushed, err)
		}
		if cf, err := img.ConfigFile(); err != nil || cf.OS+"/"+cf.Architecture != p {
			t.Fatalf("%s is not the %s image: %v %v", pushed, p, cf, err)
		}
		images = append(images, pushed)
	}
	absent(t, repo+":3.1.0") // push by digest tags nothing

	// Refusals before anything is pushed.
	wantExit(t, image.Image{}.Merge(context.Background(), s(images[0]+","+images[0]), nil), 2, "given twice")
	wantExit(t, image.Image{}.Merge(context.Background(), s(images[0]+","+repo+":3.1.0"), nil), 2, "has no digest")
	wantExit(t, image.Image{}.Merge(context.Background(), s(images[0]+","+registry+"/other/repo@"+strings.SplitN(images[1], "@", 2)[1]), nil), 2, "different repositories")
	wantExit(t, image.Image{}.Merge(context.Background(), s(images[0]+","+images[0]+"x"), nil), 2, "not a valid")
	wantExit(t, image.Image{}.Merge(context.Background(), s(images[0]+","+repo+"@sha256:"+strings.Repeat("e", 64)), nil), 1, "does not exist in", "nothing was pushed")
	wantExit(t, image.Image{}.Merge(context.Background(), s(""), nil), 2, "no digests to merge")
	absent(t, repo+":3.1.0")

	out := filepath.Join(t.TempDir(), "github_output")
	t.Setenv("GITHUB_OUTPUT", out)
	t.Setenv("MUSLRUST_CHEF_DIGESTS", strings.Join(images, ","))
	if err := (image.Image{}).Merge(context.Background(), nil, nil); err != nil {
		t.Fatal(err)
	}
	kv := readOutput(t, out)
	assertOutput(t, out, "digest="+kv["digest"]+"\nimage="+repo+"@"+kv["digest"]+"\n")
	for _, tag := range []string{"3.1.0", "3.1", "3"} {
		r, _ := name.ParseReference(repo+":"+tag, name.Insecure)
		idx, err := remote.Index(r)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		d, _ := idx.Digest()
		if d.String() != kv["digest"] {
			t.Errorf("%s is %s, GITHUB_OUTPUT digest %s", r, d, kv["digest"])
		}
		im, _ := idx.IndexManifest()
		if len(im.Manifests) != 2 {
			t.Errorf("%s has %d manifests", r, len(im.Manifests))
		}
	}
}

// assertOutput checks the whole $GITHUB_OUTPUT file: the keys, their order
// and that nothing else was written.
func assertOutput(t *testing.T, path, want string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != want {
		t.Fatalf("GITHUB_OUTPUT holds %q, want %q", data, want)
	}
}

func readOutput(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		kv[k] = v
	}
	return kv
}

// image:build loads the host platform's image into Docker, through a
// buildkitd (docker archive streamed into the Engine API) and, with nothing
// configured, through the BuildKit container the kit starts (Docker 20.10's
// own BuildKit cannot use the named context the Dockerfile reads); the
// loaded image runs its helper.
func TestBuildLoadsIntoDocker(t *testing.T) {
	bk := testinfra.Buildkitd(t)
	dockerHost := testinfra.DockerSocket(t)
	docker := testinfra.Tool(t, "docker")
	base := testimages.Busybox(t)
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		testinfra.Missing(t, "this host ("+runtime.GOARCH+") is not a platform the builder image has", "run the integration tests on linux/amd64 or linux/arm64")
	}
	env(t)
	t.Setenv("DOCKER_HOST", dockerHost)
	for _, via := range []string{"buildkitd", "started"} {
		t.Run(via, func(t *testing.T) {
			if via == "buildkitd" {
				t.Setenv("BUILDKIT_HOST", bk)
			} else {
				standin.UseStartedBuildkit(t, dockerHost)
			}
			ref := "muslrust-chef-test/builder-load:" + via + "-" + uniq()
			t.Cleanup(func() { exec.Command(docker, "rmi", "-f", ref).Run() })
			if err := (image.Image{}).Build(context.Background(), s(ref), nil, nil, s(base), nil, nil); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(docker, "run", "--rm", ref, "sh", "-c",
				`muslrust-chef triple; pwd; echo "$CARGO_NET_GIT_FETCH_WITH_CLI $CARGO_REGISTRIES_CRATES_IO_PROTOCOL"`).CombinedOutput()
			if err != nil {
				t.Fatalf("docker run %s: %v: %s", ref, err, out)
			}
			want := map[string]string{"amd64": "x86_64-unknown-linux-musl", "arm64": "aarch64-unknown-linux-musl"}[runtime.GOARCH] + "\n/app\ntrue sparse\n"
			if string(out) != want {
				t.Errorf("docker run output %q, want %q", out, want)
			}
		})
	}
}

func TestBuildDockerUnreachable(t *testing.T) {
	bk := testinfra.Buildkitd(t)
	env(t)
	t.Setenv("BUILDKIT_HOST", bk)
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	err := image.Image{}.Build(context.Background(), nil, nil, nil, nil, nil, nil)
	wantExit(t, err, 1, "Docker daemon unreachable at unix:///nonexistent/docker.sock", "-output=oci:DIR")
	err = image.Image{}.Build(context.Background(), nil, s("tar:x"), nil, nil, nil, nil)
	wantExit(t, err, 2, `unknown output "tar:x"`)
}
