package builder_test

import (
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
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
		if _, err := builder.ParseBuilderArgs(in); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: %v, want %q...", in, err, want)
		}
	}
}
