package builderimage_test

import (
	"context"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

func TestBuilderArgs(t *testing.T) {
	cleanEnv(t)
	// image:push carries them into the build; a mistake is a usage error.
	req, err := planPush(context.Background(), config.ImageSettings{Image: "r.example/x", Tags: "t", BuilderArgs: "ZIG_BASE_URL=https://mirror.example/zig"})
	if err != nil || req.BuildArgs["ZIG_BASE_URL"] != "https://mirror.example/zig" {
		t.Fatalf("PlanPush: %v %v", req.BuildArgs, err)
	}
	_, err = planPush(context.Background(), config.ImageSettings{Image: "r.example/x", Tags: "t", BuilderArgs: "NOPE=1"})
	if err == nil || !option.Usage(err) {
		t.Fatalf("PlanPush with an unknown argument: %v", err)
	}
}
