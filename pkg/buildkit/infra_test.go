package buildkit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

// Test helpers that start real infrastructure next to the shared one from
// scripts/services.sh: a second, fresh buildkitd and a registry with auth.

func testRoot() string {
	if v := os.Getenv("MUSLRUST_CHEF_TEST_ROOT"); v != "" {
		return v
	}
	return "/var/lib/muslrust-chef-test"
}

// tool finds an executable on PATH or in the provisioned bin directory
// (scripts/provision.sh builds buildkitd there).
func tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join(testRoot(), "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	testinfra.Missing(t, name+" is neither on PATH nor in "+filepath.Dir(p), "run: sudo scripts/provision.sh")
	return ""
}

// progressWriter keeps BuildKit's plain progress out of passing test logs
// but shows it when the test fails.
func progressWriter(t testing.TB) io.Writer {
	var buf syncBuffer
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() && os.Getenv("MUSLRUST_CHEF_TEST_PROGRESS") == "1" {
			t.Logf("BuildKit progress:\n%s", buf.String())
		}
	})
	return &buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// connectShared connects to the buildkitd from scripts/services.sh.
func connectShared(t testing.TB, opts ...Option) Builder {
	t.Helper()
	addr := testinfra.Buildkitd(t)
	opts = append([]Option{WithHost(addr), WithProgress(progressWriter(t), "plain")}, opts...)
	b, err := Connect(context.Background(), opts...)
	if err != nil {
		t.Fatalf("Connect(%s): %v", addr, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// startProcess starts a daemon we own, logging to a file, and stops it (by
// its own pid) when the test ends.
func startProcess(t testing.TB, name string, logPath string, args ...string) *exec.Cmd {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		// SIGTERM lets buildkitd unmount its snapshots before the temp
		// root is removed.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return cmd
}

func logTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// startFreshBuildkitd starts a second buildkitd with an empty state dir and
// its own socket, configured like scripts/services.sh (the shared registry is
// plain HTTP), and returns its address.
func startFreshBuildkitd(t testing.TB) string {
	t.Helper()
	testinfra.Buildkitd(t) // same prerequisites (runc, provisioned binaries)
	bin := tool(t, "buildkitd")
	registry := testinfra.Registry(t)
	base := filepath.Join(testRoot(), "tmp")
	if err := os.MkdirAll(base, 0o755); err != nil {
		testinfra.Missing(t, "cannot create "+base+": "+err.Error(), "run the tests as root, like scripts/services.sh")
	}
	// Under the test root, not /tmp: same filesystem as the shared
	// buildkitd, which the overlay snapshotter is known to work on.
	dir, err := os.MkdirTemp(base, "buildkitd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg := filepath.Join(dir, "buildkitd.toml")
	toml := fmt.Sprintf("[registry.%q]\n  http = true\n  insecure = true\n", registry)
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := "unix://" + filepath.Join(dir, "buildkitd.sock")
	logPath := filepath.Join(dir, "buildkitd.log")
	startProcess(t, bin, logPath, "--config", cfg, "--addr", addr, "--root", filepath.Join(dir, "root"),
		"--oci-worker=true", "--containerd-worker=false")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		b, err := Connect(ctx, WithHost(addr), WithProbeTimeout(2*time.Second))
		cancel()
		if err == nil {
			b.Close()
			return addr
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("fresh buildkitd at %s did not come up; log:\n%s", addr, logTail(logPath))
	return ""
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startAuthRegistry runs Debian's docker-registry with htpasswd auth on a
// free port of 127.0.0.1 and returns its host:port. BuildKit talks plain
// HTTP to 127.0.0.1 registries by default.
func startAuthRegistry(t testing.TB, user, pass string) string {
	t.Helper()
	reg := tool(t, "docker-registry")
	htpasswd := tool(t, "htpasswd")
	dir := t.TempDir()
	out, err := exec.Command(htpasswd, "-Bbn", user, pass).Output()
	if err != nil {
		t.Fatalf("htpasswd: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), out, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	yml := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
auth:
  htpasswd:
    realm: muslrust-chef-test
    path: %s
`, filepath.Join(dir, "data"), addr, filepath.Join(dir, "htpasswd"))
	cfg := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(cfg, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "registry.log")
	startProcess(t, reg, logPath, "serve", cfg)
	client := http.Client{Timeout: 2 * time.Second}
	for i := 0; i < 100; i++ {
		resp, err := client.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return addr
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("registry with auth at %s did not come up; log:\n%s", addr, logTail(logPath))
	return ""
}

// writeDockerConfig writes a Docker config dir holding credentials for host.
func writeDockerConfig(t testing.TB, host, user, pass string) string {
	t.Helper()
	dir := t.TempDir()
	auth := encodeAuth(user, pass)
	js := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}
