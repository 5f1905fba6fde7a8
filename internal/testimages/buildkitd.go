package testimages

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	bkclient "github.com/moby/buildkit/client"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

// FreshBuildkitd starts a buildkitd with an empty state directory and its
// own socket, configured like scripts/services.sh (the shared registry is
// plain HTTP), and returns its address. It stops (SIGTERM, by its own pid)
// and its state is removed when the test ends. Cache tests use it to show
// that a build on a new machine reuses the registry cache.
func FreshBuildkitd(t testing.TB) string {
	t.Helper()
	testinfra.Buildkitd(t) // same prerequisites as the shared one
	registry := testinfra.Registry(t)
	bin := tool(t, "buildkitd")
	base := filepath.Join(TestRoot(), "tmp")
	if err := os.MkdirAll(base, 0o755); err != nil {
		testinfra.Missing(t, "cannot create "+base+": "+err.Error(), "run the tests as root, like scripts/services.sh")
	}
	// Under the test root, not /tmp: the same filesystem as the shared
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
		c, err := bkclient.New(ctx, addr)
		if err == nil {
			_, err = c.ListWorkers(ctx)
			c.Close()
		}
		cancel()
		if err == nil {
			return addr
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("fresh buildkitd at %s did not come up; log:\n%s", addr, logTail(logPath))
	return ""
}

// tool finds an executable on PATH or in the provisioned bin directory.
func tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join(TestRoot(), "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	testinfra.Missing(t, name+" is neither on PATH nor in "+filepath.Dir(p), "run: sudo scripts/provision.sh")
	return ""
}

// startProcess starts a daemon we own, logging to a file, and stops it by
// its own pid when the test ends.
func startProcess(t testing.TB, name, logPath string, args ...string) {
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
		// SIGTERM lets buildkitd unmount its snapshots before its root
		// is removed.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
}

func logTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
