package buildkit

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

func mustPlatform(t testing.TB, s string) ocispecs.Platform {
	t.Helper()
	p, err := platforms.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeBuildx writes buildx's store files the way `docker buildx create --use`
// leaves them.
func writeBuildx(t testing.TB, dir string, cur buildxCurrent, ng *buildxNodeGroup) {
	t.Helper()
	root := filepath.Join(dir, "buildx")
	if err := os.MkdirAll(filepath.Join(root, "instances"), 0o700); err != nil {
		t.Fatal(err)
	}
	dt, _ := json.Marshal(cur)
	if err := os.WriteFile(filepath.Join(root, "current"), dt, 0o600); err != nil {
		t.Fatal(err)
	}
	if ng != nil {
		dt, _ = json.Marshal(ng)
		if err := os.WriteFile(filepath.Join(root, "instances", ng.Name), dt, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func nodeGroup(name, driver, node, endpoint string) *buildxNodeGroup {
	ng := &buildxNodeGroup{Name: name, Driver: driver}
	ng.Nodes = append(ng.Nodes, buildxNode{Name: node, Endpoint: endpoint})
	return ng
}

func TestCurrentBuildxSelection(t *testing.T) {
	dir := t.TempDir()
	cfg := config{dockerConfigDir: dir}
	if ng, err := cfg.currentBuildx(); err != nil || ng != nil {
		t.Fatalf("empty config dir: %v, %v", ng, err)
	}
	// Selected for another Docker endpoint and not global: not ours.
	writeBuildx(t, dir, buildxCurrent{Key: "tcp://elsewhere:2375", Name: "ci"}, nodeGroup("ci", "docker-container", "ci0", defaultDockerHost))
	if ng, err := cfg.currentBuildx(); err != nil || ng != nil {
		t.Fatalf("builder for another endpoint was used: %v, %v", ng, err)
	}
	writeBuildx(t, dir, buildxCurrent{Key: defaultDockerHost, Name: "ci"}, nil)
	ng, err := cfg.currentBuildx()
	if err != nil || ng == nil || ng.Driver != "docker-container" || ng.Nodes[0].Name != "ci0" {
		t.Fatalf("current builder not found: %+v, %v", ng, err)
	}
	writeBuildx(t, dir, buildxCurrent{Key: "tcp://elsewhere:2375", Name: "ci", Global: true}, nil)
	if ng, _ := cfg.currentBuildx(); ng == nil {
		t.Fatal("global builder ignored")
	}
	// The docker driver's default builder has no instance file.
	writeBuildx(t, dir, buildxCurrent{Key: defaultDockerHost, Name: "default"}, nil)
	if ng, _ := cfg.currentBuildx(); ng == nil || ng.Driver != "docker" {
		t.Fatalf("default builder: %+v", ng)
	}
	// The selection follows the Docker context (DOCKER_CONTEXT) and, for
	// the default context, the daemon address (DOCKER_HOST) given as options.
	writeBuildx(t, dir, buildxCurrent{Key: "arm-box", Name: "ci"}, nil)
	if ng, _ := cfg.currentBuildx(); ng != nil {
		t.Fatalf("builder of another context used: %+v", ng)
	}
	if ng, _ := newConfig([]Option{WithDockerConfigDir(dir), WithDockerContext("arm-box")}).currentBuildx(); ng == nil || ng.Name != "ci" {
		t.Fatalf("builder of context arm-box: %+v", ng)
	}
	writeBuildx(t, dir, buildxCurrent{Key: "tcp://elsewhere:2375", Name: "ci"}, nil)
	if ng, _ := newConfig([]Option{WithDockerConfigDir(dir), WithDockerHost("tcp://elsewhere:2375")}).currentBuildx(); ng == nil || ng.Name != "ci" {
		t.Fatalf("builder of DOCKER_HOST's endpoint: %+v", ng)
	}
}

// A docker-container node's endpoint is a Docker CLI context, read from the
// CLI's context store the way `docker context create` writes it.
func TestContextHost(t *testing.T) {
	dir := t.TempDir()
	cfg := config{dockerConfigDir: dir}
	for _, ep := range []string{"", "default"} {
		if h, err := cfg.contextHost(ep); h != "" || err != nil {
			t.Errorf("contextHost(%q) = %q, %v; want the configured daemon", ep, h, err)
		}
	}
	if h, _ := cfg.contextHost("tcp://10.0.0.1:2375"); h != "tcp://10.0.0.1:2375" {
		t.Errorf("address endpoint: %q", h)
	}
	meta := filepath.Join(dir, "contexts", "meta", digest.FromString("arm-box").Encoded())
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	js := `{"Name":"arm-box","Metadata":{},"Endpoints":{"docker":{"Host":"ssh://ci@arm-box","SkipTLSVerify":false}}}`
	if err := os.WriteFile(filepath.Join(meta, "meta.json"), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	if h, err := cfg.contextHost("arm-box"); h != "ssh://ci@arm-box" || err != nil {
		t.Errorf("context arm-box: %q, %v", h, err)
	}
	_, err := cfg.contextHost("gone")
	assertOneLine(t, err)
	if err == nil || !strings.Contains(err.Error(), `"gone"`) {
		t.Errorf("missing context: %v", err)
	}
}

// A buildx "remote" builder pointing at the real buildkitd is resolved when
// BUILDKIT_HOST is unset, and BUILDKIT_HOST wins when set.
func TestConnectThroughBuildx(t *testing.T) {
	addr := testinfra.Buildkitd(t)
	dir := t.TempDir()
	writeBuildx(t, dir, buildxCurrent{Key: defaultDockerHost, Name: "remote-ci"}, nodeGroup("remote-ci", "remote", "remote-ci0", addr))
	b, err := Connect(context.Background(), WithDockerConfigDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	e := b.Endpoint()
	b.Close()
	if e.Address != addr || e.Source != `buildx builder "remote-ci"` || e.Kind != KindBuildkitd {
		t.Errorf("endpoint %+v", e)
	}
	if !strings.Contains(strings.Join(e.Platforms, ","), "linux/amd64") {
		t.Errorf("platforms %v", e.Platforms)
	}

	writeBuildx(t, dir, buildxCurrent{Key: defaultDockerHost, Name: "remote-ci"}, nodeGroup("remote-ci", "remote", "remote-ci0", "unix:///nonexistent.sock"))
	b, err = Connect(context.Background(), WithDockerConfigDir(dir), WithHostFrom(addr, HostEnv))
	if err != nil {
		t.Fatalf("BUILDKIT_HOST should win over buildx: %v", err)
	}
	if b.Endpoint().Source != HostEnv {
		t.Errorf("source %q", b.Endpoint().Source)
	}
	b.Close()
}

// A docker-container builder whose container is gone gives the address that
// was tried and how to start it.
func TestConnectBuildxDockerContainerMissing(t *testing.T) {
	testinfra.DockerSocket(t)
	dir := t.TempDir()
	writeBuildx(t, dir, buildxCurrent{Key: defaultDockerHost, Global: true, Name: "gone"}, nodeGroup("gone", "docker-container", "gone0", defaultDockerHost))
	_, err := Connect(context.Background(), WithDockerConfigDir(dir))
	assertOneLine(t, err)
	for _, want := range []string{"buildx_buildkit_gone0 does not exist", `buildx builder "gone"`, "docker buildx inspect --bootstrap gone"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	t.Log(err)
}

func TestUnsupportedBuildxDriver(t *testing.T) {
	dir := t.TempDir()
	writeBuildx(t, dir, buildxCurrent{Global: true, Name: "k8s"}, nodeGroup("k8s", "kubernetes", "k8s0", "kubernetes:///k8s"))
	_, err := Connect(context.Background(), WithDockerConfigDir(dir))
	assertOneLine(t, err)
	if !strings.Contains(err.Error(), `"kubernetes" driver`) || !strings.Contains(err.Error(), HostEnv) {
		t.Errorf("unexpected: %v", err)
	}
}
