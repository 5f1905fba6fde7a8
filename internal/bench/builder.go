package bench

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

	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

// ExtraCrates are the Debian crates the Large workspace needs on top of the
// musl stand-in's (serde, serde_json, regex, cc, itoa, ...): tokio 1.24 with
// its macros, clap with derive, anyhow, thiserror, log.
var ExtraCrates = []string{
	"librust-tokio-dev", "librust-tokio-macros-dev",
	"librust-clap-dev", "librust-clap-derive-dev",
	"librust-anyhow-dev", "librust-thiserror-dev", "librust-log-dev",
}

var builder struct {
	once sync.Once
	ref  string
	err  error
}

// Builder returns the benchmark's builder: the musl stand-in with
// ExtraCrates, built once per machine (the registry keeps it under a
// content-hash tag, apart from the tests' stand-in) and once per process.
func Builder(t testing.TB) string {
	t.Helper()
	testinfra.Tool(t, "apt-get")
	testinfra.Tool(t, "dpkg-deb")
	buildctl := testinfra.Tool(t, "buildctl")
	bk := testinfra.Buildkitd(t)
	reg := testinfra.Registry(t)
	testinfra.Zig(t)
	builder.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
		defer cancel()
		mod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		if err != nil || strings.TrimSpace(string(mod)) == "" {
			builder.err = fmt.Errorf("cannot find the module root (go env GOMOD): %v", err)
			return
		}
		res, err := standin.EnsureMusl(ctx, standin.MuslOptions{Registry: reg, CacheDir: standin.CacheDir(), Buildctl: buildctl, Buildkit: bk,
			ZigTarball: testinfra.ZigTarball(), ModuleDir: filepath.Dir(strings.TrimSpace(string(mod))), ExtraCrates: ExtraCrates, Log: os.Stderr})
		builder.ref, builder.err = res.Ref, err
		if err == nil {
			how := "found in the registry"
			if res.Built {
				how = "built and pushed"
			}
			t.Logf("bench builder %s: %s in %s", res.Ref, how, res.Took.Round(time.Millisecond))
		}
	})
	if builder.err != nil {
		testinfra.Missing(t, "the benchmark's builder image: "+builder.err.Error(), "run: sudo scripts/provision.d/standin.sh scripts/provision.d/musl.sh")
	}
	return builder.ref
}
