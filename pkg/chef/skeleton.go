package chef

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
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
// planDir only when complete, so a failure never leaves a partial plan.
func WritePlan(planDir string, r *Recipe) error {
	data, err := r.Encode()
	if err != nil {
		return err
	}
	parent := filepath.Dir(filepath.Clean(planDir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create %s: %v", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(planDir)+".new-")
	if err != nil {
		return fmt.Errorf("create temporary plan directory: %v", err)
	}
	defer os.RemoveAll(tmp)
	if _, err := WriteSkeleton(filepath.Join(tmp, SkeletonDir), r); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, RecipeFile), data, 0o644); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	old := ""
	if _, err := os.Stat(planDir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(planDir, old); err != nil {
			return fmt.Errorf("replace %s: %v", planDir, err)
		}
	}
	if err := os.Rename(tmp, planDir); err != nil {
		if old != "" {
			_ = os.Rename(old, planDir)
		}
		return fmt.Errorf("replace %s: %v", planDir, err)
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}
