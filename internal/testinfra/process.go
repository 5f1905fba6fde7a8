package testinfra

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bkclient "github.com/moby/buildkit/client"
)

// StartProcess starts a daemon the test owns, logging to logPath, and stops
// it by its own pid (SIGTERM, then SIGKILL after 20 s) when the test ends.
// The returned stop does the same earlier (a test taking a daemon down);
// calling it again, or the cleanup after it, does nothing.
func StartProcess(t testing.TB, name, logPath string, args ...string) (stop func()) {
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
	var once sync.Once
	stop = func() {
		once.Do(func() {
			// SIGTERM lets buildkitd unmount its snapshots before its root is removed.
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// LogTail returns the last few KB of a daemon's log for a failure message.
func LogTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// BuildkitdOption configures a buildkitd the test starts (StartBuildkitd).
type BuildkitdOption func(*buildkitdConfig)

type buildkitdConfig struct {
	platforms []string
}

// WithPlatforms makes the worker declare exactly these platforms
// (buildkitd --oci-worker-platform), the first being the one it reports as
// native: two daemons on one amd64 machine then stand for an amd64 and an
// arm64 node (the arm64 one runs its steps under QEMU through binfmt_misc).
func WithPlatforms(platforms ...string) BuildkitdOption {
	return func(c *buildkitdConfig) { c.platforms = append(c.platforms, platforms...) }
}

// BuildkitdProcess is a buildkitd the test started.
type BuildkitdProcess struct {
	// Addr is its unix:// address.
	Addr string
	// Log is its log file.
	Log string
	// Stop takes it down before the test ends (SIGTERM, then SIGKILL);
	// the socket goes with it, so later dials fail like a node that is down.
	Stop func()
}

// FreshBuildkitd starts a buildkitd with an empty state directory and its
// own socket, configured like scripts/services.sh (the shared registry is
// plain HTTP), and returns its address. Cache tests use it to show that a
// build on a new machine reuses the registry cache.
func FreshBuildkitd(t testing.TB, opts ...BuildkitdOption) string {
	t.Helper()
	return StartBuildkitd(t, opts...).Addr
}

// StartBuildkitd is FreshBuildkitd returning the process, for tests that
// stop it early.
func StartBuildkitd(t testing.TB, opts ...BuildkitdOption) *BuildkitdProcess {
	t.Helper()
	var bc buildkitdConfig
	for _, o := range opts {
		o(&bc)
	}
	if len(bc.platforms) > 0 {
		// A declared arm64 worker on an amd64 host runs its steps under QEMU.
		for _, p := range bc.platforms {
			if strings.HasSuffix(p, "/arm64") && runtime.GOARCH != "arm64" {
				RequireArm64(t)
			}
		}
	}
	Buildkitd(t) // same prerequisites as the shared one
	registry := Registry(t)
	bin := Tool(t, "buildkitd")
	base := filepath.Join(Root(), "tmp")
	if err := os.MkdirAll(base, 0o755); err != nil {
		Missing(t, "cannot create "+base+": "+err.Error(), "run the tests as root, like scripts/services.sh")
	}
	// A killed run leaves its state (gigabytes) behind.
	RemoveStale(base, "buildkitd-", StaleAfter)
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
	args := []string{"--config", cfg, "--addr", addr, "--root", filepath.Join(dir, "root"),
		"--oci-worker=true", "--containerd-worker=false"}
	for _, p := range bc.platforms {
		args = append(args, "--oci-worker-platform", p)
	}
	stop := StartProcess(t, bin, logPath, args...)
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
			return &BuildkitdProcess{Addr: addr, Log: logPath, Stop: stop}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("fresh buildkitd at %s did not come up; log:\n%s", addr, LogTail(logPath))
	return nil
}
