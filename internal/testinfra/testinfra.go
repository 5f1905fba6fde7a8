// Package testinfra tells integration tests where the test infrastructure
// started by scripts/ lives, and skips loudly when it is missing, unless
// MUSLRUST_CHEF_INTEGRATION=1 turns every such skip into a failure (as in CI).
package testinfra

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Defaults shared with scripts/env.sh; keep them in step.
const (
	DefaultRegistry    = "127.0.0.1:5123"
	DefaultBuildkitd   = "unix:///run/muslrust-chef-test/buildkitd.sock"
	DefaultDockerSock  = "/var/run/docker.sock"
	integrationEnvName = "MUSLRUST_CHEF_INTEGRATION"
)

// Integration reports whether missing infrastructure must fail tests.
func Integration() bool { return os.Getenv(integrationEnvName) == "1" }

// Missing skips the test with a loud reason, or fails it in integration mode.
func Missing(t testing.TB, what, fix string) {
	t.Helper()
	msg := "INTEGRATION INFRASTRUCTURE MISSING: " + what + " (" + fix + ")"
	if Integration() {
		t.Fatal(msg + "; " + integrationEnvName + "=1 forbids skipping")
	}
	t.Skip(msg)
}

const provisionHint = "run scripts/test.sh prepare, as root or through sudo"

// Registry returns host:port of the local docker-registry started by scripts/services.sh.
func Registry(t testing.TB) string {
	t.Helper()
	addr := envOr("MUSLRUST_CHEF_TEST_REGISTRY", DefaultRegistry)
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + addr + "/v2/")
	if err != nil {
		Missing(t, "registry at "+addr+" is not answering: "+err.Error(), provisionHint)
	}
	resp.Body.Close()
	return addr
}

// Buildkitd returns the BuildKit address started by scripts/services.sh.
func Buildkitd(t testing.TB) string {
	t.Helper()
	addr := envOr("MUSLRUST_CHEF_TEST_BUILDKIT_HOST", DefaultBuildkitd)
	if !dialable(addr) {
		Missing(t, "buildkitd at "+addr+" is not answering", provisionHint)
	}
	return addr
}

// DockerSocket returns the Docker daemon's address after checking it answers.
func DockerSocket(t testing.TB) string {
	t.Helper()
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = "unix://" + DefaultDockerSock
	}
	if !dialable(host) {
		Missing(t, "Docker daemon at "+host+" is not answering", provisionHint)
	}
	return host
}

// Root is the state directory scripts/provision.sh fills (kept between runs).
func Root() string { return envOr("MUSLRUST_CHEF_TEST_ROOT", "/var/lib/muslrust-chef-test") }

// Tool returns the path of an executable on PATH or in the provisioned bin
// directory (buildkitd, buildctl), or skips/fails when it is absent.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join(Root(), "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	Missing(t, name+" is neither on PATH nor in "+filepath.Dir(p), provisionHint)
	return ""
}

// RequireHostArch skips/fails when the tests run on another architecture
// than a fixture is built for (CI machines are linux/amd64).
func RequireHostArch(t testing.TB, arch, why string) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != arch {
		Missing(t, "this host is "+runtime.GOOS+"/"+runtime.GOARCH+" and "+why, "run the integration tests on a linux/"+arch+" machine, as .ci/run does")
	}
}

// CanRunArm64 reports whether binfmt_misc runs aarch64 binaries through QEMU.
func CanRunArm64() bool {
	data, err := os.ReadFile("/proc/sys/fs/binfmt_misc/qemu-aarch64")
	return err == nil && strings.HasPrefix(string(data), "enabled")
}

// RequireArm64 skips/fails when arm64 binaries cannot run here.
func RequireArm64(t testing.TB) {
	t.Helper()
	if !CanRunArm64() {
		Missing(t, "binfmt_misc has no enabled qemu-aarch64 entry", provisionHint)
	}
}

func dialable(addr string) bool {
	network, target := "tcp", addr
	switch {
	case strings.HasPrefix(addr, "unix://"):
		network, target = "unix", strings.TrimPrefix(addr, "unix://")
	case strings.HasPrefix(addr, "tcp://"):
		target = strings.TrimPrefix(addr, "tcp://")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, network, target)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
