package builder

import (
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

func TestBuilderBuildArgs(t *testing.T) {
	args, err := BuildArgs("ZIG_BASE_URL=http://127.0.0.1:9/zig, ZIG_VERSION=0.11.0", "reg.example/musl:1")
	if err != nil {
		t.Fatal(err)
	}
	if args["ZIG_BASE_URL"] != "http://127.0.0.1:9/zig" || args["ZIG_VERSION"] != "0.11.0" || args["MUSLRUST_IMAGE"] != "reg.example/musl:1" {
		t.Fatalf("args = %v", args)
	}
	if v, ok := args["CARGO_CHEF_VERSION"]; !ok || v != "" {
		t.Fatalf("cargo-chef is not skipped by default: %v", args)
	}
	for in, want := range map[string]string{
		"NOPE=1":   "has no build argument NOPE",
		"ZIG":      "is not KEY=VALUE",
		"=x":       "is not KEY=VALUE",
		"FOO=1,X=": "has no build argument FOO",
	} {
		if _, err := BuildArgs(in, ""); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("BuildArgs(%q) = %v, want %q", in, err, want)
		}
	}
	if _, err := BuildArgs("", "UPPER/Case:x"); err == nil || !strings.Contains(err.Error(), "MUSLRUST_CHEF_MUSLRUST_IMAGE") {
		t.Errorf("a bad base image reference: %v", err)
	}
}

func TestEmbeddedBuilderDeclaresCross(t *testing.T) {
	b, err := Embedded(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	// The platforms as a user gives them (arm64 parses with its v8
	// variant): emulate and split require every one of them.
	ps, err := platform.ParseList("linux/amd64,linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Require(ps); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if b.Libc[p] != "musl" || len(b.Cross[p].Platforms) != 2 || !b.Platforms[p] {
			t.Fatalf("%s: libc %q cross %+v", p, b.Libc[p], b.Cross[p])
		}
	}
	if err := b.Require(embeddedPlatforms); err != nil {
		t.Fatal(err)
	}
	b, err = Embedded(map[string]string{"MUSLRUST_CHEF_CROSS_PLATFORMS": ""})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Cross[embeddedPlatforms[0]].Platforms) != 0 {
		t.Fatalf("the cross declaration follows the build arg: %+v", b.Cross)
	}
}
