package config

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

func TestBuildkitOptions(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv(BuildkitHost.Env, "")
	t.Setenv(DockerHost.Env, "")
	t.Setenv(BuildkitImage.Env, "")
	t.Setenv(BuildkitNetwork.Env, "")
	t.Setenv(BuildkitContainer.Env, "")
	t.Setenv(BuildkitdConfig.Env, "")
	for _, k := range []string{BuildkitProgress.Env, DockerContext.Env, SourceDateEpoch.Env} {
		t.Setenv(k, "")
	}
	if opts, err := BuildkitOptions(); err != nil || len(opts) != 0 {
		t.Fatalf("nothing set: %d options, %v", len(opts), err)
	}
	toml := filepath.Join(t.TempDir(), "buildkitd.toml")
	if err := os.WriteFile(toml, []byte("debug = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(BuildkitImage.Env, "mirror.example/moby/buildkit:v0.34.0")
	t.Setenv(BuildkitNetwork.Env, "host")
	t.Setenv(BuildkitContainer.Env, "ci-buildkit")
	t.Setenv(BuildkitdConfig.Env, toml)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv(BuildkitHost.Env, "unix:///run/elsewhere.sock")
	t.Setenv(DockerHost.Env, "unix:///run/docker-elsewhere.sock")
	if opts, err := BuildkitOptions(); err != nil || len(opts) != 7 {
		t.Fatalf("all set: %d options, %v", len(opts), err)
	}
	for _, k := range []string{BuildkitProgress.Env, DockerContext.Env, SourceDateEpoch.Env} {
		t.Setenv(k, "x")
	}
	if opts, err := BuildkitOptions(); err != nil || len(opts) != 10 {
		t.Fatalf("progress, Docker context and build time too: %d options, %v", len(opts), err)
	}
	t.Setenv(BuildkitdConfig.Env, filepath.Join(t.TempDir(), "missing.toml"))
	_, err := BuildkitOptions()
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), BuildkitdConfig.Env+"=") {
		t.Errorf("unreadable buildkitd.toml: %v", err)
	}
}

// BUILDKIT_HOST reaches buildkit.Connect as an option read here: with the
// variable cleared after BuildkitOptions, Connect still dials that address
// and names the variable it came from.
func TestBuildkitHostIsPassedAsOption(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nothing.sock")
	t.Setenv(BuildkitHost.Env, "unix://"+sock)
	opts, err := BuildkitOptions()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(BuildkitHost.Env, "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := buildkit.Connect(ctx, append(opts, buildkit.WithLog(io.Discard))...)
	if err == nil {
		b.Close()
		t.Fatal("connected to a socket nobody listens on")
	}
	if want := "BuildKit at unix://" + sock + " (from BUILDKIT_HOST) is not answering"; !strings.Contains(err.Error(), want) {
		t.Errorf("Connect: %v\nwant it to contain %q", err, want)
	}
}
