package chef

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// WriteSkeleton materialises the recipe under dir: manifests, Cargo.lock,
// .cargo/config.toml, the toolchain file and a dummy source per target. It
// returns the directory of the workspace root inside the skeleton (dir
// itself unless path dependencies live outside the workspace).
func WriteSkeleton(dir string, r *Recipe) (string, error) {
	wsRoot := filepath.Join(dir, filepath.FromSlash(r.WorkspaceDir))
	write := func(rel, contents string) error {
		clean := path.Clean(r.skeletonRelative(rel))
		if clean == ".." || strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
			return fmt.Errorf("recipe path %q escapes the skeleton directory; plan again with this version of muslrust-chef", rel)
		}
		full := filepath.Join(dir, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		return os.WriteFile(full, []byte(contents), 0o644)
	}
	s := r.Skeleton
	if s.LockFile != nil {
		if err := write("Cargo.lock", *s.LockFile); err != nil {
			return "", err
		}
	}
	if s.ConfigFile != nil {
		if err := write(".cargo/config.toml", *s.ConfigFile); err != nil {
			return "", err
		}
	}
	if tf := s.RustToolchainFile; tf != nil {
		if err := write(tf.FileName(), tf.Contents); err != nil {
			return "", err
		}
	}
	for _, m := range s.Manifests {
		if err := write(m.RelativePath, m.Contents); err != nil {
			return "", err
		}
		var d doc
		if len(m.Targets) > 0 {
			var err error
			if d, err = parseTOML([]byte(m.Contents), m.RelativePath); err != nil {
				return "", err
			}
		}
		for _, t := range m.Targets {
			if err := write(path.Join(m.dir(), t.Path), dummySource(t, d)); err != nil {
				return "", err
			}
		}
	}
	return wsRoot, nil
}

// RecipeFile and SkeletonDir are the names inside a plan directory; they are
// a contract with the cook/build stages.
const (
	RecipeFile  = "recipe.json"
	SkeletonDir = "skeleton"
)

// WritePlan writes recipe.json and skeleton/ into planDir, all or nothing:
// everything is written into a sibling temporary directory that replaces
// planDir in one swap only when complete (internal/atomicdir), so a failure
// or a kill never leaves a partial plan. A non-empty planDir the kit did
// not write (no .muslrust-chef marker) is refused, never deleted.
func WritePlan(planDir string, r *Recipe) error {
	data, err := r.Encode()
	if err != nil {
		return err
	}
	d, err := atomicdir.Begin(planDir, atomicdir.Options{
		Writer: "rust:plan: recipe.json and skeleton/",
		Fix:    option.Errorf("set %s / %s to a new or empty directory (default target/muslrust-chef)", option.Flag(option.PlanDir), option.Env(option.PlanDir)),
	})
	if err != nil {
		return fmt.Errorf("plan directory: %w", err)
	}
	defer d.Abort()
	if _, err := WriteSkeleton(filepath.Join(d.Path(), SkeletonDir), r); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d.Path(), RecipeFile), data, 0o644); err != nil {
		return err
	}
	if err := d.Commit(); err != nil {
		return fmt.Errorf("plan directory: %w", err)
	}
	return nil
}
