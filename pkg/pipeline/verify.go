package pipeline

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// verifyIn is what verify checks: every configured platform's binary in
// dist, against the libc the solve built it for.
type verifyIn struct {
	Config *Config
	Solved *Solved
	Log    io.Writer
	// Names spells the options a warning names (the targets: the knobs).
	Names func(option.Ref) string
}

// verify checks that each exported binary is a static executable for its
// platform and libc, on the required allocator, and returns them and what
// the check found (libc, allocator) by platform. Each binary is verified
// once per run: slim trusts this.
func verify(in verifyIn) (map[platform.Platform]string, map[platform.Platform]elfcheck.Result, error) {
	c, s := in.Config, in.Solved
	bins := map[platform.Platform]string{}
	checks := map[platform.Platform]elfcheck.Result{}
	for _, p := range c.Platforms {
		bin := filepath.Join(c.Dist, p.DistDir(), c.Bin)
		res, err := elfcheck.VerifyLibc(bin, p, expectedLibc(c, s, p))
		if err != nil {
			var le *elfcheck.LibcError
			if errors.As(err, &le) {
				return bins, checks, err
			}
			return bins, checks, option.Errorf("built %s for %s, but it is not a static executable: %w: build with a static toolchain (musl, or gnu with -C target-feature=+crt-static via %s)", bin, p, err, option.Env(option.RustFlags))
		}
		if err := elfcheck.RequireAllocator(res, c.RequireAllocator); err != nil {
			return bins, checks, err
		}
		bins[p] = bin
		checks[p] = res
		v, _ := s.StageRun(app.StageCook, stageKey(c, p))
		fmt.Fprintf(in.Log, "build: %s verified static, %s, %s (cook %s)\n", bin, res.Libc, res.Alloc, ranOrCached(v))
		if w := elfcheck.AllocatorWarning(res); w != nil {
			fmt.Fprintf(in.Log, "build: %s\n", render(w, in.Names))
		}
	}
	return bins, checks, nil
}

// expectedLibc is the C library p's binary must link: the one of the
// triple cargo built it for (the libc setting, else the label of the
// builder image that compiled it: the build platform's when cross
// compiling), so that verify catches a builder whose toolchain links
// another libc than its triple says.
func expectedLibc(c *Config, r *Solved, p platform.Platform) elfcheck.Libc {
	libc := c.Libc
	if libc == "" && r.Builder != nil {
		from := p
		if r.Strategy == StrategyCross {
			from = r.BuildPlatform
		}
		libc = r.Builder.Libc[from]
	}
	if libc == "" {
		libc = platform.DefaultLibc
	}
	if libc == "gnu" {
		return elfcheck.Glibc
	}
	return elfcheck.Libc(libc)
}
