package builder_test

import (
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

func TestParseBuilderArgs(t *testing.T) {
	got, err := builder.ParseBuilderArgs(" ZIG_URL_AMD64=http://127.0.0.1:1/zig.tgz , ZIG_VERSION=0.11.0,")
	if err != nil || len(got) != 2 || got["ZIG_URL_AMD64"] != "http://127.0.0.1:1/zig.tgz" || got["ZIG_VERSION"] != "0.11.0" {
		t.Fatalf("got %v, %v", got, err)
	}
	for in, want := range map[string]string{
		"ZIG_VERSION":    `MUSLRUST_CHEF_BUILDER_ARGS: "ZIG_VERSION" is not KEY=VALUE`,
		"ZIG_VERSON=1.0": "MUSLRUST_CHEF_BUILDER_ARGS: the builder Dockerfile has no build argument ZIG_VERSON: use one of ",
	} {
		if _, err := builder.ParseBuilderArgs(in); err == nil || !strings.HasPrefix(config.Explain(err), want) {
			t.Errorf("%q: %v, want %q...", in, err, want)
		}
	}
}

func TestBuilderBuildArgs(t *testing.T) {
	args, err := builder.BuildArgs("ZIG_BASE_URL=http://127.0.0.1:9/zig, ZIG_VERSION=0.11.0", "reg.example/musl:1")
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
		if _, err := builder.BuildArgs(in, ""); err == nil || !strings.Contains(config.Explain(err), want) {
			t.Errorf("builder.BuildArgs(%q) = %v, want %q", in, err, want)
		}
	}
	if _, err := builder.BuildArgs("", "UPPER/Case:x"); err == nil || !strings.Contains(config.Explain(err), "MUSLRUST_CHEF_MUSLRUST_IMAGE") {
		t.Errorf("a bad base image reference: %v", err)
	}
}

// The stand-in's cross declaration is what a builder image declares: the
// labels this package reads, with the stand-in's C compiler as the
// aarch64 triple's linker and cc.
func TestStandinCrossDeclaration(t *testing.T) {
	b := &builder.Builder{Libc: map[platform.Platform]string{}, RustFlags: map[platform.Platform]string{}, Cross: map[platform.Platform]builder.CrossDecl{}}
	p, err := platform.Parse("linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	err = b.ReadLabels(p, standin.CrossLabels())
	d := b.Cross[p]
	if err != nil || d.Triples[standin.CrossTriple].CC != standin.CrossCC || d.Triples[standin.CrossTriple].Linker != standin.CrossCC || d.Cargo != builder.CargoBuild {
		t.Fatalf("stand-in declaration parsed as %+v, %v", d, err)
	}
}
