package builder

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// helperPackage is the import path of the helper CLI baked into the image.
const helperPackage = "github.com/muslrust-chef/muslrust-chef/cmd/muslrust-chef"

// compileHelper cross-compiles the helper CLI on the host for each platform
// into dir/muslrust-chef-<arch> (static: CGO_ENABLED=0). Go cross-compiles
// natively, so the arm64 helper costs no emulation. The build is
// reproducible (-trimpath, no VCS stamp): the same sources give the same
// bytes, so BuildKit's cache for the COPY and the steps after it survives a
// rebuild on another machine. env is added to the go command's environment
// (GOCACHE, GOFLAGS, ...).
//
// The go command runs in the kit's own module (the checkout or the module
// cache directory this package was compiled from), not in the current
// directory: the targets run wherever the user's Rust workspace is, which
// is usually no Go module, and the kit's sources are the helper's.
func compileHelper(ctx context.Context, dir string, platforms []platform.Platform, version string, env []string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command is not on PATH: the helper CLI is cross-compiled with Go on the host; install Go or add it to PATH")
	}
	if version == "" {
		version = "dev"
	}
	// One go command per platform, at the same time: most of each is
	// loading and checking the packages, which leaves a core idle.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The first failure is the one to report: the others are the
	// cancellation it caused.
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for _, p := range platforms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := compileOne(ctx, goBin, dir, p, version, env); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return first
}

// compileOne is compileHelper for one platform.
func compileOne(ctx context.Context, goBin, dir string, p platform.Platform, version string, env []string) error {
	out := filepath.Join(dir, muslrustchef.HelperName(p.Arch))
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -X main.version="+version, "-o", out, helperPackage)
	cmd.Dir = kitModuleDir()
	// The go command's own environment (PATH, HOME, GOCACHE) is inherited
	// as exec does by default; env and the target platform come after.
	cmd.Env = append(append(cmd.Environ(), env...), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+p.Arch)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("compiling the helper CLI for %s: %w", p, context.Cause(ctx))
		}
		where := "the current directory"
		if cmd.Dir != "" {
			where = cmd.Dir
		}
		return fmt.Errorf("compiling the helper CLI (%s) for %s in %s failed: %s: run go build %s there to see why",
			helperPackage, p, where, oneline.String(strings.TrimSpace(stderr.String())+" "+err.Error()), helperPackage)
	}
	return nil
}

// kitModuleDir is the root of the module this file was compiled from, when
// its go.mod is still there and is the kit's; empty (the current
// directory) otherwise, e.g. for a binary built with -trimpath on another
// machine.
func kitModuleDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return ""
	}
	want := "module " + strings.TrimSuffix(helperPackage, "/cmd/muslrust-chef")
	for _, l := range strings.Split(string(mod), "\n") {
		if strings.TrimSpace(l) == want {
			return root
		}
	}
	return ""
}

// Context writes the builder stages' named build context into a temporary
// directory: the download script and the helper CLI cross-compiled for
// every platform in ps (compileHelper, with the version and Go environment
// of opts). cleanup removes the directory.
func Context(ctx context.Context, ps []platform.Platform, opts ...ContextOption) (string, func(), error) {
	var o contextOptions
	for _, opt := range opts {
		opt(&o)
	}
	dir, err := os.MkdirTemp("", "muslrust-chef-builder-context-")
	if err != nil {
		return "", nil, fmt.Errorf("creating the builder's build context: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	if err := os.WriteFile(filepath.Join(dir, muslrustchef.FetchVerifiedName), muslrustchef.FetchVerified, 0o755); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("creating the builder's build context: %w", err)
	}
	if err := compileHelper(ctx, dir, ps, o.version, o.goEnv); err != nil {
		cleanup()
		return "", nil, err
	}
	return dir, cleanup, nil
}

// EmbeddedContext is the named context of the embedded builder's stages in
// rust:build's solve. Both architectures whatever is built: the context's
// content, and so the builder stages' cache keys, must not depend on the
// platforms.
func EmbeddedContext(ctx context.Context, goEnv []string) (string, func(), error) {
	return Context(ctx, embeddedPlatforms, WithGoEnv(goEnv...))
}

// ContextOption sets how Context compiles the helper.
type ContextOption func(*contextOptions)

type contextOptions struct {
	version string
	goEnv   []string
}

// WithVersion is the helper's version string (default "dev").
func WithVersion(v string) ContextOption { return func(o *contextOptions) { o.version = v } }

// WithGoEnv adds KEY=VALUE entries to the go command's environment
// (GOCACHE, GOFLAGS, ...).
func WithGoEnv(env ...string) ContextOption {
	return func(o *contextOptions) { o.goEnv = append(o.goEnv, env...) }
}
