package baseimage_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/baseimage"
)

func TestBuilderArgs(t *testing.T) {
	cleanEnv(t)
	got, err := baseimage.ParseBuilderArgs(" ZIG_URL_AMD64=http://127.0.0.1:1/zig.tgz , ZIG_VERSION=0.11.0,")
	if err != nil || len(got) != 2 || got["ZIG_URL_AMD64"] != "http://127.0.0.1:1/zig.tgz" || got["ZIG_VERSION"] != "0.11.0" {
		t.Fatalf("got %v, %v", got, err)
	}
	for in, want := range map[string]string{
		"ZIG_VERSION":    `MUSLRUST_CHEF_BUILDER_ARGS: "ZIG_VERSION" is not KEY=VALUE`,
		"ZIG_VERSON=1.0": "MUSLRUST_CHEF_BUILDER_ARGS: the builder Dockerfile has no build argument ZIG_VERSON: use one of ",
	} {
		if _, err := baseimage.ParseBuilderArgs(in); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: %v, want %q...", in, err, want)
		}
	}
	// image:push carries them into the build; a mistake is a usage error.
	req, err := baseimage.PlanPush(context.Background(), baseimage.Settings{Image: "r.example/x", Tags: "t", BuilderArgs: "ZIG_BASE_URL=https://mirror.example/zig"})
	if err != nil || req.BuildArgs["ZIG_BASE_URL"] != "https://mirror.example/zig" {
		t.Fatalf("PlanPush: %v %v", req.BuildArgs, err)
	}
	_, err = baseimage.PlanPush(context.Background(), baseimage.Settings{Image: "r.example/x", Tags: "t", BuilderArgs: "NOPE=1"})
	var ue *baseimage.UsageError
	if err == nil || !errors.As(err, &ue) {
		t.Fatalf("PlanPush with an unknown argument: %v", err)
	}
}
