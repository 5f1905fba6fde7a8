package chef

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
)

// CookOptions configure Cook. Flags must be the very value the real build
// uses; that is the whole point of having one.
type CookOptions struct {
	Flags cargo.Flags
	// Cargo is the cargo executable; default "cargo" from PATH.
	Cargo string
	// Env is added to the current environment (CARGO_HOME, ...).
	Env            []string
	Stdout, Stderr io.Writer
}

// LocalPackages returns the names of the recipe's local crates, sorted.
func (r *Recipe) LocalPackages() ([]string, error) {
	var out []string
	for _, m := range r.Skeleton.Manifests {
		d, err := parseTOML([]byte(m.Contents), m.RelativePath)
		if err != nil {
			return nil, err
		}
		if name := str(table(d, "package"), "name"); name != "" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Cook builds the skeleton whose workspace root is dir, then removes what
// the dummy sources produced for local crates (cargo clean -p, same profile,
// triple and target dir), so the real build after copying the sources in
// compiles only local crates and finds every dependency fresh.
func Cook(ctx context.Context, dir string, r *Recipe, opts CookOptions) error {
	if err := opts.Flags.Validate(); err != nil {
		return err
	}
	locals, err := r.LocalPackages()
	if err != nil {
		return err
	}
	bin := opts.Cargo
	if bin == "" {
		bin = "cargo"
	}
	run := func(args []string) error {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), opts.Flags.Env()...), opts.Env...)
		cmd.Stdout, cmd.Stderr = opts.Stdout, opts.Stderr
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("cook: cargo %s interrupted: %v", args[0], ctx.Err())
			}
			return fmt.Errorf("cook: cargo %s in %s failed: %v; see cargo's output above", strings.Join(args, " "), dir, err)
		}
		return nil
	}
	if err := run(opts.Flags.BuildArgs()); err != nil {
		return err
	}
	if len(locals) == 0 {
		return nil
	}
	return run(opts.Flags.CleanArgs(locals))
}
