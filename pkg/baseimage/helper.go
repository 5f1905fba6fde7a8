package baseimage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// HelperPackage is the import path of the helper CLI baked into the image.
const HelperPackage = "github.com/muslrust-chef/muslrust-chef/cmd/muslrust-chef"

// CompileHelper cross-compiles the helper CLI on the host for each platform
// into dir/muslrust-chef-<arch> (static: CGO_ENABLED=0). Go cross-compiles
// natively, so the arm64 helper costs no emulation. The build is
// reproducible (-trimpath, no VCS stamp): the same sources give the same
// bytes, so BuildKit's cache for the COPY and the steps after it survives a
// rebuild on another machine. env is added to the go command's environment
// (GOCACHE, GOFLAGS, ...).
func CompileHelper(ctx context.Context, dir string, platforms []platform.Platform, version string, env []string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command is not on PATH: the helper CLI is cross-compiled with Go on the host; install Go or add it to PATH")
	}
	if version == "" {
		version = "dev"
	}
	for _, p := range platforms {
		out := filepath.Join(dir, muslrustchef.HelperName(p.Arch))
		cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false",
			"-ldflags=-s -w -X main.version="+version, "-o", out, HelperPackage)
		cmd.Env = append(append(os.Environ(), env...), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+p.Arch)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("compiling the helper CLI for %s: %w", p, context.Cause(ctx))
			}
			return fmt.Errorf("compiling the helper CLI (%s) for %s failed: %s: run go build %s to see why",
				HelperPackage, p, oneLine(strings.TrimSpace(stderr.String())+" "+err.Error()), HelperPackage)
		}
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
