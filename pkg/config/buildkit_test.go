package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildkitOptions(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv(BuildkitImage.Env, "")
	t.Setenv(BuildkitNetwork.Env, "")
	t.Setenv(BuildkitContainer.Env, "")
	t.Setenv(BuildkitdConfig.Env, "")
	for _, k := range []string{"BUILDKIT_HOST", "BUILDKIT_PROGRESS", "DOCKER_HOST", "DOCKER_CONTEXT", "SOURCE_DATE_EPOCH"} {
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
	if opts, err := BuildkitOptions(); err != nil || len(opts) != 5 {
		t.Fatalf("all set: %d options, %v", len(opts), err)
	}
	for _, k := range []string{"BUILDKIT_HOST", "BUILDKIT_PROGRESS", "DOCKER_HOST", "DOCKER_CONTEXT", "SOURCE_DATE_EPOCH"} {
		t.Setenv(k, "x")
	}
	if opts, err := BuildkitOptions(); err != nil || len(opts) != 10 {
		t.Fatalf("the standard variables too: %d options, %v", len(opts), err)
	}
	t.Setenv(BuildkitdConfig.Env, filepath.Join(t.TempDir(), "missing.toml"))
	_, err := BuildkitOptions()
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), BuildkitdConfig.Env+"=") {
		t.Errorf("unreadable buildkitd.toml: %v", err)
	}
}
