package standin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

// CacheDir is where downloaded .debs are kept between runs on one machine.
func CacheDir() string {
	return filepath.Join(testinfra.Root(), "cache", "standin")
}

// onceImage builds one stand-in index at most once per test process (and
// once per machine: the registry keeps it under a content-hash tag).
type onceImage struct {
	once sync.Once
	ref  string
	err  error
}

var cross, musl onceImage

// CrossImage returns the cross stand-in builder index in the test registry.
func CrossImage(t testing.TB) string {
	t.Helper()
	return cross.get(t, "cross stand-in builder", Options{Repository: CrossRepository, Images: CrossImages()})
}

// MuslImage returns the musl stand-in builder index in the test registry:
// Debian's rustc with a musl std for x86_64 and aarch64 and zig behind the
// kit's wrapper, declaring its cross toolchain like the production builder.
func MuslImage(t testing.TB) string {
	t.Helper()
	testinfra.Tool(t, "apt-get")
	testinfra.Tool(t, "dpkg-deb")
	buildctl := testinfra.Tool(t, "buildctl")
	bk := testinfra.Buildkitd(t)
	reg := testinfra.Registry(t)
	testinfra.Zig(t)
	return musl.ensure(t, "musl stand-in builder", "run: sudo scripts/provision.d/standin.sh scripts/provision.d/musl.sh", 60*time.Minute,
		func(ctx context.Context) (Result, error) {
			mod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
			if err != nil {
				return Result{}, fmt.Errorf("cannot find the module root (go env GOMOD): %w", err)
			}
			if strings.TrimSpace(string(mod)) == "" {
				return Result{}, fmt.Errorf("cannot find the module root: go env GOMOD is empty outside a module")
			}
			return EnsureMusl(ctx, MuslOptions{Registry: reg, CacheDir: CacheDir(), Buildctl: buildctl, Buildkit: bk,
				ZigTarball: testinfra.ZigTarball(), ModuleDir: filepath.Dir(strings.TrimSpace(string(mod))), Log: os.Stderr})
		})
}

func (o *onceImage) get(t testing.TB, what string, opts Options) string {
	t.Helper()
	opts.Registry = testinfra.Registry(t)
	opts.CacheDir, opts.Log = CacheDir(), os.Stderr
	testinfra.Tool(t, "apt-get")
	testinfra.Tool(t, "dpkg-deb")
	return o.ensure(t, what, "run: sudo scripts/provision.d/standin.sh", 30*time.Minute,
		func(ctx context.Context) (Result, error) { return Ensure(ctx, opts) })
}

// ensure builds (or finds) one stand-in image at most once per test
// process, logs how it got it, and turns a failure into testinfra.Missing
// with hint.
func (o *onceImage) ensure(t testing.TB, what, hint string, timeout time.Duration, build func(context.Context) (Result, error)) string {
	t.Helper()
	o.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		res, err := build(ctx)
		o.ref, o.err = res.Ref, err
		if err == nil {
			how := "found in the registry"
			if res.Built {
				how = "built and pushed"
			}
			t.Logf("%s %s: %s in %s", what, res.Ref, how, res.Took.Round(time.Millisecond))
		}
	})
	if o.err != nil {
		testinfra.Missing(t, what+" image: "+o.err.Error(), hint)
	}
	return o.ref
}

var buildkitImage onceImage

// BuildkitImage returns the stand-in for moby/buildkit in the test registry,
// as repo:tag@sha256:digest.
func BuildkitImage(t testing.TB) string {
	t.Helper()
	registry := testinfra.Registry(t)
	bin := filepath.Join(testinfra.Root(), "bin")
	for _, b := range []string{"buildkitd", "buildctl"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			testinfra.Missing(t, "the test world's "+b+": "+err.Error(), "run: sudo scripts/provision.sh")
		}
	}
	testinfra.Tool(t, "apt-get")
	testinfra.Tool(t, "dpkg-deb")
	return buildkitImage.ensure(t, "stand-in moby/buildkit", "run: sudo scripts/provision.sh (buildkitd, buildctl) and scripts/provision.d/standin.sh", 10*time.Minute,
		func(ctx context.Context) (Result, error) {
			return EnsureBuildkit(ctx, BuildkitOptions{Registry: registry, CacheDir: CacheDir(), BinDir: bin, Log: os.Stderr})
		})
}
