package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// makeDist lays out dist/<os>_<arch>/<bin> from the given binaries.
func makeDist(t testing.TB, bin string, byArch map[string]string) string {
	t.Helper()
	dist := filepath.Join(t.TempDir(), "dist")
	for arch, src := range byArch {
		dir := filepath.Join(dist, "linux_"+arch)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, bin), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dist
}

func staticDist(t testing.TB) string {
	return makeDist(t, "app", map[string]string{"amd64": fixtures.GoStatic(t, "amd64"), "arm64": fixtures.GoStatic(t, "arm64")})
}

func both(t testing.TB) []platform.Platform {
	ps, err := platform.ParseList(platform.Default)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func hostPlatform(t testing.TB) platform.Platform {
	p, err := platform.Host()
	if err != nil {
		testinfra.Missing(t, "this host is not a platform the kit builds: "+err.Error(), "run the tests on linux/amd64 or linux/arm64")
	}
	return p
}

func TestShipToRegistryPrintsDigestAndWritesGitHubOutput(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	ghOut := filepath.Join(t.TempDir(), "github_output")
	var stdout bytes.Buffer
	res, err := ship(context.Background(), shipReq{
		Platforms: both(t), Dist: staticDist(t), Base: publish.Scratch,
		Output: publish.Output{Kind: "registry"}, Image: reg.Host + "/team/app:2.0.1", Tags: []string{"2.0", "latest"},
		Created: time.Unix(0, 0), Host: hostPlatform(t), Stdout: &stdout, GitHubOutput: ghOut,
	})
	if err != nil {
		t.Fatal(err)
	}
	pushLog := reg.Log()
	wantRef := reg.Host + "/team/app@" + res.Digest.String()
	if strings.TrimSpace(stdout.String()) != wantRef {
		t.Errorf("stdout %q, want %q", stdout.String(), wantRef)
	}
	gh, _ := os.ReadFile(ghOut)
	if string(gh) != fmt.Sprintf("image=%s\ndigest=%s\n", wantRef, res.Digest) {
		t.Errorf("GITHUB_OUTPUT: %q", gh)
	}
	for _, tag := range []string{"2.0.1", "2.0", "latest"} {
		ref, _ := name.ParseReference(reg.Host + "/team/app:" + tag)
		idx, err := remote.Index(ref)
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		if tag == "latest" {
			regtest.AssertPushOrder(t, pushLog, "team/app", idx, "2.0.1", "2.0", "latest")
		}
		im, _ := idx.IndexManifest()
		if len(im.Manifests) != 2 {
			t.Fatalf("%s: %d platforms", tag, len(im.Manifests))
		}
		img, _ := idx.Image(im.Manifests[0].Digest)
		cf, _ := img.ConfigFile()
		if cf.Config.Labels["org.opencontainers.image.version"] != "2.0.1" {
			t.Errorf("version label defaults to the tag: %v", cf.Config.Labels)
		}
	}
}

func TestShipBadInputPublishesNothing(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	host := hostPlatform(t)
	amd64Only := makeDist(t, "app", map[string]string{"amd64": fixtures.GoStatic(t, "amd64")})
	wrongArch := makeDist(t, "app", map[string]string{"amd64": fixtures.GoStatic(t, "arm64"), "arm64": fixtures.GoStatic(t, "arm64")})
	twoBins := staticDist(t)
	os.WriteFile(filepath.Join(twoBins, "linux_amd64", "other"), []byte("x"), 0o755)
	os.WriteFile(filepath.Join(twoBins, "linux_arm64", "other"), []byte("x"), 0o755)

	cases := []struct {
		name string
		req  shipReq
		want string
	}{
		{"missing arm64 binary", shipReq{Bin: "app", Dist: amd64Only}, "dist/linux_arm64/app: binary not found"},
		{"missing slot while inferring", shipReq{Dist: amd64Only}, "dist slot"},
		{"wrong arch", shipReq{Bin: "app", Dist: wrongArch}, "aarch64 binary in the linux/amd64 slot"},
		{"ambiguous bin", shipReq{Dist: twoBins}, "several binaries"},
		{"no image for registry", shipReq{Bin: "app", Dist: staticDist(t), Image: "-"}, "MUSLRUST_CHEF_IMAGE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := c.req
			req.Platforms, req.Base, req.Output, req.Host = both(t), publish.Scratch, publish.Output{Kind: "registry"}, host
			switch req.Image {
			case "":
				req.Image = reg.Host + "/team/app:1"
			case "-":
				req.Image = ""
			}
			before := reg.Requests.Load()
			var stdout bytes.Buffer
			req.Stdout = &stdout
			_, err := ship(context.Background(), req)
			if err == nil || !strings.Contains(config.Explain(err), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error: %q", err)
			}
			if reg.Requests.Load() != before || stdout.Len() != 0 {
				t.Error("something was published or printed despite the error")
			}
		})
	}
}

// Slim verifies every binary (pkg/elfcheck) before it reads the base: a bad
// slot fails without a request to the base's registry.
func TestBadBinariesFailBeforeAnyNetwork(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	base := testimages.PushRandomBase(t, reg.Host, "amd64", "arm64")
	before := reg.Requests.Load()
	shipDist := func(dist string) error {
		_, err := ship(context.Background(), shipReq{
			Bin: "app", Platforms: both(t), Dist: dist, Base: base, Image: "team/app:1",
			Output: publish.Output{Kind: "oci", Path: filepath.Join(t.TempDir(), "oci")}, Host: hostPlatform(t), Stdout: &bytes.Buffer{},
		})
		return err
	}
	swapped := makeDist(t, "app", map[string]string{"amd64": fixtures.GoStatic(t, "arm64"), "arm64": fixtures.GoStatic(t, "arm64")})
	if err := shipDist(swapped); err == nil || !strings.Contains(err.Error(), "aarch64 binary in the linux/amd64 slot") {
		t.Fatalf("wrong-arch error: %v", err)
	}
	missing := makeDist(t, "app", map[string]string{"amd64": fixtures.GoStatic(t, "amd64")})
	if err := shipDist(missing); err == nil || !strings.Contains(err.Error(), "binary not found") {
		t.Fatalf("missing binary error: %v", err)
	}
	if reg.Requests.Load() != before {
		t.Error("the base registry was contacted although a binary was bad")
	}
}

func TestShipTarNeedsOnePlatform(t *testing.T) {
	out := filepath.Join(t.TempDir(), "app.tar")
	_, err := ship(context.Background(), shipReq{
		Platforms: both(t), Dist: staticDist(t), Base: publish.Scratch,
		Output: publish.Output{Kind: "tar", Path: out}, Host: platform.Platform{OS: "linux", Arch: "riscv64"}, Stdout: &bytes.Buffer{},
	})
	if err == nil || !strings.Contains(err.Error(), "holds one platform") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("tarball written despite the error")
	}
}

func TestShipOCILayoutDeterministic(t *testing.T) {
	dist := staticDist(t)
	run := func(dir string) string {
		res, err := ship(context.Background(), shipReq{
			Platforms: both(t), Dist: dist, Base: publish.Scratch, Output: publish.Output{Kind: "oci", Path: dir},
			Image: "team/app:1", Created: time.Unix(1700000000, 0), Host: hostPlatform(t), Stdout: &bytes.Buffer{},
		})
		if err != nil {
			t.Fatal(err)
		}
		return res.Digest.String()
	}
	a, b := run(filepath.Join(t.TempDir(), "a")), run(filepath.Join(t.TempDir(), "b"))
	if a != b {
		t.Fatalf("two runs gave %s and %s", a, b)
	}
}

func dockerCLI(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("docker", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestShipDockerOutputRunsInRealDaemon(t *testing.T) {
	testinfra.DockerSocket(t)
	testinfra.Tool(t, "docker")
	host := hostPlatform(t)
	image := fmt.Sprintf("muslrust-chef-test/slim-docker:%d", time.Now().UnixNano())
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	_, err := ship(context.Background(), shipReq{
		Platforms: both(t), Dist: staticDist(t), Base: publish.Scratch, Output: publish.Output{Kind: "docker"},
		Image: image, Host: host, Stdout: &bytes.Buffer{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out := dockerCLI(t, "run", "--rm", image); !strings.Contains(out, fixtures.Greeting(host.Arch)) {
		t.Errorf("container printed %q", out)
	}
	if out := dockerCLI(t, "run", "--rm", image, "whoami"); !strings.Contains(out, "uid=65532") {
		t.Errorf("container runs as %q", out)
	}
	if out := dockerCLI(t, "run", "--rm", image, "tmp"); !strings.Contains(out, "tmp: writable") {
		t.Errorf("scratch /tmp: %q", out)
	}
}

func TestShipTarLoadsWithDockerLoad(t *testing.T) {
	testinfra.DockerSocket(t)
	testinfra.Tool(t, "docker")
	testinfra.RequireArm64(t)
	image := fmt.Sprintf("muslrust-chef-test/slim-tar:%d", time.Now().UnixNano())
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	out := filepath.Join(t.TempDir(), "app.tar")
	arm64, _ := platform.Parse("linux/arm64")
	_, err := ship(context.Background(), shipReq{
		Platforms: []platform.Platform{arm64}, Dist: staticDist(t), Base: publish.Scratch,
		Output: publish.Output{Kind: "tar", Path: out}, Image: image, Host: hostPlatform(t), Stdout: &bytes.Buffer{},
	})
	if err != nil {
		t.Fatal(err)
	}
	dockerCLI(t, "load", "-i", out)
	// The arm64 image runs through binfmt's QEMU.
	if got := dockerCLI(t, "run", "--rm", image); !strings.Contains(got, fixtures.Greeting("arm64")) {
		t.Errorf("arm64 container printed %q", got)
	}
}

func TestShipDockerDaemonUnreachable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	_, err := ship(context.Background(), shipReq{
		Platforms: both(t), Dist: staticDist(t), Base: publish.Scratch, Output: publish.Output{Kind: "docker"},
		Image: "team/app:1", Host: hostPlatform(t), Stdout: &bytes.Buffer{},
	})
	if err == nil || !strings.Contains(err.Error(), "Docker daemon unreachable") || !strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Fatalf("error %v", err)
	}
}

func TestShipToHtpasswdRegistry(t *testing.T) {
	host := testinfra.AuthRegistry(t, "ci", "s3cret")
	req := shipReq{
		Platforms: both(t), Dist: staticDist(t), Base: publish.Scratch,
		Output: publish.Output{Kind: "registry"}, Image: host + "/team/app:1",
		Host: hostPlatform(t), Stdout: &bytes.Buffer{},
	}
	regtest.DockerConfig(t, host, "ci", "wrong")
	_, err := ship(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "refused the credentials") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("wrong password: %v", err)
	}
	regtest.DockerConfig(t, host, "ci", "s3cret")
	ref, _ := name.ParseReference(host + "/team/app:1")
	regtest.AssertAbsent(t, ref, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	res, err := ship(context.Background(), req)
	if err != nil {
		t.Fatalf("right password from the Docker config: %v", err)
	}
	desc, err := remote.Head(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil || desc.Digest != res.Digest {
		t.Fatalf("tag after push: %v %v", desc, err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	fixtures.Cleanup()
	os.Exit(code)
}

// shipReq is what rust:slim passes to Slim, flat for the tables above.
type shipReq struct {
	Bin          string
	Platforms    []platform.Platform
	Dist, Base   string
	Output       publish.Output
	Image        string
	Tags         []string
	Created      time.Time
	Host         platform.Platform
	Stdout       io.Writer
	GitHubOutput string
}

func ship(ctx context.Context, r shipReq) (publish.Result, error) {
	opts := []Option{WithCreated(r.Created), WithHost(r.Host), WithGitHubOutput(r.GitHubOutput)}
	if r.Stdout != nil {
		opts = append(opts, WithStdout(r.Stdout))
	}
	return Slim(ctx, SlimConfig{Bin: r.Bin, Platforms: r.Platforms, Dist: r.Dist, Base: r.Base, Output: r.Output, Image: r.Image, Tags: r.Tags}, opts...)
}
