package atomicdir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File is one replacement of a single output file (tar:FILE) in progress:
// the new file is written in a temporary sibling directory of the kit's
// naming, so that a killed run's leftover is recognised and removed like a
// directory's, and renamed over the destination only when complete.
type File struct {
	dst, tmp string
	done     bool
}

// FileOptions say who writes the file and which existing file it may
// replace.
type FileOptions struct {
	// Fix ends the refusal message: what the user should do instead, as
	// an error (see Options.Fix).
	Fix error
	// Owned reports whether the existing regular file at path is one the
	// writer would have produced, so that replacing it loses nothing a
	// user wrote (a single file cannot carry a marker). Nil allows any
	// regular file.
	Owned func(path string) bool
}

// BeginFile checks that dst may be replaced (absent, an empty file, or a
// file opts.Owned accepts), removes what a killed earlier run left beside
// it, and creates the temporary path the caller writes the new file to
// (Path).
func BeginFile(dst string, opts FileOptions) (*File, error) {
	return beginFile(dst, opts, false)
}

// beginFile is BeginFile; link allows replacing a symbolic link at dst
// (the output is one).
func beginFile(dst string, opts FileOptions, link bool) (*File, error) {
	abs, parent, err := makeParent(dst)
	if err != nil {
		return nil, err
	}
	if err := recoverAndClean(abs); err != nil {
		return nil, err
	}
	if err := checkOwnedFile(abs, dst, opts, link); err != nil {
		return nil, err
	}
	tmp, err := mkTemp(parent, tempPrefix(abs, "new"))
	if err != nil {
		return nil, fmt.Errorf("cannot write next to %s: %w; choose a writable path", dst, unwrap(err))
	}
	return &File{dst: abs, tmp: tmp}, nil
}

// Path is the temporary file to write the new content to.
func (f *File) Path() string { return filepath.Join(f.tmp, filepath.Base(f.dst)) }

// Abort removes the temporary file; after Commit it does nothing. Call it
// deferred.
func (f *File) Abort() {
	if !f.done {
		removeTemp(f.tmp)
		f.done = true
	}
}

// Commit renames the new file over dst in one step: dst is the old file or
// the new one at every instant.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicdir: Commit after Commit or Abort")
	}
	if TestHookBeforeSwap != nil {
		TestHookBeforeSwap(f.dst)
	}
	if err := os.Rename(f.Path(), f.dst); err != nil {
		return fmt.Errorf("cannot move the output into %s: %w; choose a writable path", f.dst, unwrap(err))
	}
	f.Abort()
	return nil
}

// CheckFile reports, without changing anything, the error BeginFile would
// give for dst.
func CheckFile(dst string, opts FileOptions) error {
	abs, err := filepath.Abs(dst)
	if err != nil {
		return err
	}
	return checkOwnedFile(abs, dst, opts, false)
}

func checkOwnedFile(dst, shown string, opts FileOptions, link bool) error {
	fix := fix(opts.Fix)
	st, err := os.Lstat(dst)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w; %w", shown, unwrap(err), fix)
	}
	switch {
	case st.Mode()&os.ModeSymlink != 0 && link:
		return nil
	case st.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link: refusing to replace it; %w", shown, fix)
	case st.IsDir():
		return fmt.Errorf("%s is a directory: refusing to replace it with a file; %w", shown, fix)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file: refusing to replace it; %w", shown, fix)
	case st.Size() == 0 || opts.Owned == nil || opts.Owned(dst):
		return nil
	}
	return fmt.Errorf("%s exists and is not a file muslrust-chef wrote: refusing to replace it; %w", shown, fix)
}

// WriteFile replaces the file dst with what write writes, all or nothing:
// BeginFile's checks, then write fills a new file (mode perm, whatever the
// umask) at the temporary path, which is synced and renamed over dst. An
// error from write is returned as it is; on any error dst is left as it
// was and nothing is left beside it.
func WriteFile(dst string, perm os.FileMode, opts FileOptions, write func(w io.Writer) error) error {
	f, err := BeginFile(dst, opts)
	if err != nil {
		return err
	}
	defer f.Abort()
	out, err := os.OpenFile(f.Path(), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", filepath.Dir(dst), unwrap(err))
	}
	defer out.Close()
	if err := write(out); err != nil {
		return err
	}
	for _, step := range []func() error{func() error { return out.Chmod(perm) }, out.Sync, out.Close} {
		if err := step(); err != nil {
			return fmt.Errorf("cannot write %s: %w; choose a writable path", dst, unwrap(err))
		}
	}
	return f.Commit()
}

// Symlink replaces dst (absent, a symbolic link, or a file BeginFile would
// replace) with a symbolic link to target in one rename, so that dst is
// the old entry or the new link at every instant.
func Symlink(target, dst string, opts FileOptions) error {
	f, err := beginFile(dst, opts, true)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := os.Symlink(target, f.Path()); err != nil {
		return fmt.Errorf("cannot write in %s: %w", filepath.Dir(dst), unwrap(err))
	}
	return f.Commit()
}
