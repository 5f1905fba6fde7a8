package atomicdir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// recoverAndClean handles what a killed run left beside dst: an old tree
// moved aside while dst is missing goes back; every other sibling with the
// kit's temporary naming is removed.
func recoverAndClean(dst string) error {
	parent, base := filepath.Dir(dst), filepath.Base(dst)
	entries, err := os.ReadDir(parent)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w; choose a readable path", parent, unwrap(err))
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta("."+base+tempTag) + `(new|old)-([0-9]+)-[0-9]+$`)
	_, dstErr := os.Lstat(dst)
	for _, e := range entries {
		m := re.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		p := filepath.Join(parent, e.Name())
		if isLive(p) {
			continue // this process writing the same output right now
		}
		lock, err := lockDir(p)
		if errors.Is(err, errInUse) {
			continue // another run writing the same output right now
		}
		if err != nil {
			// No flock on this file system: judge by the pid.
			if pid, err := strconv.Atoi(m[2]); err == nil && pid != os.Getpid() && alive(pid) {
				continue
			}
		} else {
			defer lock.Close()
		}
		if m[1] == "old" && errors.Is(dstErr, os.ErrNotExist) {
			if err := os.Rename(p, dst); err == nil {
				dstErr = nil
				continue
			}
		}
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("cannot remove %s, left by an interrupted run: %w; remove it by hand", p, unwrap(err))
		}
	}
	return nil
}

// keepOld links (or copies) each entry of old that the new tree lacks into
// it, so that the swap keeps them.
func keepOld(old, tmp string) error {
	entries, err := os.ReadDir(old)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == Marker {
			continue
		}
		if _, err := os.Lstat(filepath.Join(tmp, e.Name())); err == nil {
			continue
		}
		if err := linkTree(filepath.Join(old, e.Name()), filepath.Join(tmp, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func linkTree(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case info.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&os.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case info.Mode().IsRegular():
			if os.Link(p, target) == nil {
				return nil
			}
			return copyFile(p, target, info.Mode().Perm())
		}
		return nil // sockets, devices: nothing the kit writes
	})
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
