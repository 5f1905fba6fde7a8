package muslrustchef

import (
	"slices"
	"testing"
)

// The labels the kit reads for its own builder come from the Dockerfile's
// LABEL instruction with ARG defaults expanded, and build args win.
func TestLabelsExpandDefaultsAndBuildArgs(t *testing.T) {
	labels, err := Labels(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := labels["io.muslrust-chef.libc"]; got != "musl" {
		t.Fatalf("libc label = %q, want musl", got)
	}
	if got := labels["io.muslrust-chef.cross"]; got != "linux/amd64,linux/arm64" {
		t.Fatalf("cross label = %q, want the Dockerfile's default linux/amd64,linux/arm64", got)
	}
	if got := labels["org.opencontainers.image.base.name"]; got == "" || got[0] == '$' {
		t.Fatalf("base.name label not expanded from the global MUSLRUST_IMAGE: %q", got)
	}
	labels, err = Labels(map[string]string{"MUSLRUST_CHEF_CROSS_PLATFORMS": "", "MUSLRUST_IMAGE": "reg.example/m:1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := labels["io.muslrust-chef.cross"]; got != "" {
		t.Fatalf("cross label with MUSLRUST_CHEF_CROSS_PLATFORMS empty = %q", got)
	}
	if got := labels["org.opencontainers.image.base.name"]; got != "reg.example/m:1" {
		t.Fatalf("base.name = %q, want the MUSLRUST_IMAGE build arg", got)
	}
}

func TestArgNames(t *testing.T) {
	names, err := ArgNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MUSLRUST_IMAGE", "ZIG_VERSION", "CARGO_CHEF_VERSION"} {
		if !slices.Contains(names, want) {
			t.Fatalf("ArgNames() = %v, missing %s", names, want)
		}
	}
	// The stage must not depend on the target platform: rust:build builds
	// it for the build platform too (see the Dockerfile's comment).
	if slices.Contains(names, "TARGETARCH") || slices.Contains(names, "TARGETPLATFORM") {
		t.Fatalf("the builder Dockerfile declares a TARGET* argument: %v", names)
	}
}

// The kit mounts zig's cache where the embedded builder's ENV puts it.
func TestEnvZigCache(t *testing.T) {
	envs, err := Env(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := envs["ZIG_GLOBAL_CACHE_DIR"]; got != "/opt/zig-cache" {
		t.Fatalf("ZIG_GLOBAL_CACHE_DIR = %q, want /opt/zig-cache", got)
	}
}
