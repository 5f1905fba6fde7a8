package chef

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// expandMembers resolves [workspace] members (globs included, ** too) into
// sorted slash-separated directories relative to root, minus exclude. Cargo
// loads every match, so a match without Cargo.toml or a member that does not
// exist is an error here too, before anything is written.
func expandMembers(root string, members, exclude []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, pattern := range members {
		pattern = path.Clean(filepath.ToSlash(pattern))
		if !hasMeta(pattern) {
			if err := checkMemberDir(root, pattern, ""); err != nil {
				return nil, err
			}
			if !seen[pattern] {
				seen[pattern] = true
				out = append(out, pattern)
			}
			continue
		}
		matches, err := globDirs(root, pattern)
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			if excluded(m, exclude) || seen[m] {
				continue
			}
			if err := checkMemberDir(root, m, pattern); err != nil {
				return nil, err
			}
			seen[m] = true
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out, nil
}

func checkMemberDir(root, rel, pattern string) error {
	where := fmt.Sprintf("workspace member %q", rel)
	if pattern != "" {
		where = fmt.Sprintf("workspace member %q (matched by %q)", rel, pattern)
	}
	dir := filepath.Join(root, filepath.FromSlash(rel))
	fi, err := os.Stat(dir)
	switch {
	case isLoop(err):
		return fmt.Errorf("%s is a symlink loop; remove the link or add it to workspace.exclude", where)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s does not exist (%s); create it or remove it from [workspace] members in Cargo.toml", where, dir)
	case err != nil:
		return fmt.Errorf("%s: %w", where, err)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory; fix [workspace] members in Cargo.toml", where)
	}
	if _, err := os.Stat(filepath.Join(dir, "Cargo.toml")); err != nil {
		return fmt.Errorf("%s has no Cargo.toml; add one, or add the directory to workspace.exclude", where)
	}
	return nil
}

func isLoop(err error) bool { return errors.Is(err, syscall.ELOOP) }

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

func excluded(rel string, exclude []string) bool {
	for _, e := range exclude {
		e = path.Clean(filepath.ToSlash(e))
		if rel == e || strings.HasPrefix(rel, e+"/") {
			return true
		}
	}
	return false
}

// globDirs expands a member glob one path component at a time, following
// symlinks like cargo does but refusing to walk a directory cycle (which
// would otherwise never end with **).
func globDirs(root, pattern string) ([]string, error) {
	parts := strings.Split(pattern, "/")
	var out []string
	var walk func(rel string, i int, visiting map[string]bool) error
	walk = func(rel string, i int, visiting map[string]bool) error {
		if i == len(parts) {
			out = append(out, rel)
			return nil
		}
		dir := filepath.Join(root, filepath.FromSlash(rel))
		part := parts[i]
		if !hasMeta(part) {
			next := path.Join(rel, part)
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(next))); err != nil {
				if isLoop(err) {
					return fmt.Errorf("workspace member glob %q: %s is a symlink loop; remove the link or add it to workspace.exclude", pattern, next)
				}
				return nil
			}
			return walk(next, i+1, visiting)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil
		}
		if part == "**" {
			real, err := filepath.EvalSymlinks(dir)
			if err != nil {
				return fmt.Errorf("workspace member glob %q: %s: %w", pattern, rel, err)
			}
			if visiting[real] {
				return fmt.Errorf("workspace member glob %q: %s leads back to %s (symlink loop); remove the link or add it to workspace.exclude", pattern, rel, real)
			}
			visiting[real] = true
			defer delete(visiting, real)
			if err := walk(rel, i+1, visiting); err != nil {
				return err
			}
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") && !strings.HasPrefix(part, ".") {
				continue
			}
			next := path.Join(rel, name)
			full := filepath.Join(root, filepath.FromSlash(next))
			fi, err := os.Stat(full)
			if isLoop(err) {
				return fmt.Errorf("workspace member glob %q: %s is a symlink loop; remove the link or add it to workspace.exclude", pattern, next)
			}
			if err != nil || !fi.IsDir() {
				continue
			}
			if part == "**" {
				if err := walk(next, i, visiting); err != nil {
					return err
				}
				continue
			}
			if ok, _ := path.Match(part, name); ok {
				if err := walk(next, i+1, visiting); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk("", 0, map[string]bool{}); err != nil {
		return nil, err
	}
	// "" is the root itself (pattern "**"); cargo treats it as ".".
	for i, m := range out {
		if m == "" {
			out[i] = "."
		}
	}
	sort.Strings(out)
	return out, nil
}
