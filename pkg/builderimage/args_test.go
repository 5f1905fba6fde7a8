package builderimage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/builderimage"
)

func TestBuilderArgs(t *testing.T) {
	cleanEnv(t)
	// image:push carries them into the build; a mistake is a usage error.
	req, err := builderimage.PlanPush(context.Background(), builderimage.Settings{Image: "r.example/x", Tags: "t", BuilderArgs: "ZIG_BASE_URL=https://mirror.example/zig"})
	if err != nil || req.BuildArgs["ZIG_BASE_URL"] != "https://mirror.example/zig" {
		t.Fatalf("PlanPush: %v %v", req.BuildArgs, err)
	}
	_, err = builderimage.PlanPush(context.Background(), builderimage.Settings{Image: "r.example/x", Tags: "t", BuilderArgs: "NOPE=1"})
	var ue *builderimage.UsageError
	if err == nil || !errors.As(err, &ue) {
		t.Fatalf("PlanPush with an unknown argument: %v", err)
	}
}
