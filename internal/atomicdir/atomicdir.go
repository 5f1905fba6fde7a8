// Package atomicdir is how the kit replaces an output (the plan, dist/, an
// OCI layout, a local cache, a tar:FILE archive): write a complete new tree
// or file in a sibling temporary directory, then swap it into place in one
// rename, so that a failed or killed run leaves the old content whole, and
// the next run removes what a killed one left beside the output. Only
// outputs the kit wrote are ever replaced: each directory carries a marker
// file, and a non-empty directory without it is refused, so that a
// mistyped -plan=. or -dist=$HOME never deletes anything. LockParent makes
// two runs writing the same outputs take turns.
package atomicdir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Marker is the file in every directory the kit writes; its content says
// which part of the kit wrote it.
const Marker = ".muslrust-chef"

// TestHookBeforeSwap, when set, runs after the new tree is complete and
// just before it is swapped into place. Tests use it to stop the process
// there (internal/atomicdir/crashtest); it is never set in production.
var TestHookBeforeSwap func(dst string)

// testHookBetweenRenames runs between the two renames of the fallback swap.
var testHookBetweenRenames func(dst string)

// Options say who writes the directory and how to replace it.
type Options struct {
	// Writer names what wrote the directory, for the marker ("rust:plan").
	Writer string
	// Fix ends the refusal message: what the user should do instead. It is
	// an error, wrapped, so that it can name options (option.Errorf("set %s
	// to a new or empty directory", option.Env(option.PlanDir))) and
	// pkg/config renders their knobs. Nil says only "choose another path".
	Fix error
	// Merge keeps the entries of the old directory the new tree does not
	// have (a split build adds dist/linux_arm64 beside linux_amd64).
	Merge bool
}

// fix is what ends a refusal: the caller's Fix, else a generic one.
func fix(err error) error {
	if err != nil {
		return err
	}
	return errChooseAnother
}

var errChooseAnother = errors.New("choose another path")

// Dir is one replacement in progress.
type Dir struct {
	dst, tmp string
	opts     Options
	done     bool
}

// Begin checks that dst may be replaced (absent, empty, or written by the
// kit), removes what a killed earlier run left beside it, and creates the
// temporary directory the caller writes the new tree into (Path).
func Begin(dst string, opts Options) (*Dir, error) {
	abs, parent, err := makeParent(dst)
	if err != nil {
		return nil, err
	}
	if parent == abs {
		return nil, fmt.Errorf("%s is the root directory: refusing to replace it; %w", dst, fix(opts.Fix))
	}
	if err := recoverAndClean(abs); err != nil {
		return nil, err
	}
	if err := checkOwned(abs, dst, fix(opts.Fix)); err != nil {
		return nil, err
	}
	tmp, err := mkTemp(parent, tempPrefix(abs, "new"))
	if err != nil {
		return nil, fmt.Errorf("cannot write next to %s: %w; choose a writable path", dst, unwrap(err))
	}
	d := &Dir{dst: abs, tmp: tmp, opts: opts}
	if err := os.Chmod(tmp, 0o755); err != nil {
		d.Abort()
		return nil, err
	}
	if err := d.writeMarker(); err != nil {
		d.Abort()
		return nil, err
	}
	return d, nil
}

// CheckFix is Check with the end of the refusal as an error (Options.Fix).
func CheckFix(dst string, fix error) error {
	abs, err := filepath.Abs(dst)
	if err != nil {
		return err
	}
	if filepath.Dir(abs) == abs {
		return fmt.Errorf("%s is the root directory: refusing to replace it; %w", dst, fix)
	}
	return checkOwned(abs, dst, fix)
}

// Path is the temporary directory to write the new tree into.
func (d *Dir) Path() string { return d.tmp }

// Abort removes the temporary directory; after Commit it does nothing.
// Call it deferred.
func (d *Dir) Abort() {
	if !d.done {
		removeTemp(d.tmp)
		d.done = true
	}
}

// Commit swaps the new tree into dst's place: dst holds either the old
// tree or the new one at every instant, and the old one is removed after.
func (d *Dir) Commit() error {
	if d.done {
		return errors.New("atomicdir: Commit after Commit or Abort")
	}
	// The writer may have written over the marker (BuildKit's exporter
	// merges into the directory; a layout writer might not).
	if err := d.writeMarker(); err != nil {
		return err
	}
	// dst may have changed during a long build.
	if err := checkOwned(d.dst, d.dst, fix(d.opts.Fix)); err != nil {
		return err
	}
	_, statErr := os.Lstat(d.dst)
	exists := statErr == nil
	if exists && d.opts.Merge {
		if err := keepOld(d.dst, d.tmp); err != nil {
			return fmt.Errorf("cannot carry the other entries of %s over: %w", d.dst, err)
		}
	}
	if TestHookBeforeSwap != nil {
		TestHookBeforeSwap(d.dst)
	}
	if !exists {
		if err := os.Rename(d.tmp, d.dst); err != nil {
			return fmt.Errorf("cannot move the output into %s: %w; choose a writable path", d.dst, unwrap(err))
		}
		forgetTemp(d.tmp)
		d.done = true
		return nil
	}
	if err := exchange(d.tmp, d.dst); err == nil {
		// d.tmp now holds the old tree.
		d.done = true
		if err := removeTemp(d.tmp); err != nil {
			return fmt.Errorf("replaced %s, but cannot remove its old content at %s: %w", d.dst, d.tmp, unwrap(err))
		}
		return nil
	} else if !errors.Is(err, errNoExchange) {
		return fmt.Errorf("cannot replace %s: %w", d.dst, unwrap(err))
	}
	return d.renameTwice()
}

// renameTwice is the swap where the kernel or file system cannot exchange
// two paths: the old tree is moved aside, the new one in. A crash between
// the two leaves the old tree whole beside dst, and the next Begin puts it
// back.
func (d *Dir) renameTwice() error {
	old, err := mkTemp(filepath.Dir(d.dst), tempPrefix(d.dst, "old"))
	if err != nil {
		return fmt.Errorf("cannot replace %s: %w", d.dst, unwrap(err))
	}
	// Only forgotten, never removed here: on a failed swap it may hold
	// the only copy of the old tree, which the next Begin puts back.
	defer forgetTemp(old)
	if err := os.Remove(old); err != nil {
		return err
	}
	if err := os.Rename(d.dst, old); err != nil {
		return fmt.Errorf("cannot replace %s: %w; is it writable?", d.dst, unwrap(err))
	}
	if testHookBetweenRenames != nil {
		testHookBetweenRenames(d.dst)
	}
	if err := os.Rename(d.tmp, d.dst); err != nil {
		os.Rename(old, d.dst)
		return fmt.Errorf("cannot replace %s: %w", d.dst, unwrap(err))
	}
	forgetTemp(d.tmp)
	d.done = true
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("replaced %s, but cannot remove its old content at %s: %w", d.dst, old, unwrap(err))
	}
	return nil
}

func (d *Dir) writeMarker() error {
	content := "This directory was written by muslrust-chef"
	if d.opts.Writer != "" {
		content += " (" + d.opts.Writer + ")"
	}
	content += "; the kit replaces it as a whole on its next run. Do not keep other files here.\n"
	if err := os.WriteFile(filepath.Join(d.tmp, Marker), []byte(content), 0o644); err != nil {
		return fmt.Errorf("cannot write in %s: %w; choose a writable path", filepath.Dir(d.tmp), unwrap(err))
	}
	return nil
}

// checkOwned refuses to replace anything but a missing or empty directory
// or one carrying the marker. shown is dst as the user wrote it.
func checkOwned(dst, shown string, fix error) error {
	st, err := os.Lstat(dst)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w; %w", shown, unwrap(err), fix)
	}
	if st.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link: refusing to replace it; %w", shown, fix)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s exists and is not a directory: refusing to replace it; %w", shown, fix)
	}
	f, err := os.Open(dst)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w; %w", shown, unwrap(err), fix)
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); errors.Is(err, io.EOF) {
		return nil
	}
	if m, err := os.Lstat(filepath.Join(dst, Marker)); err == nil && m.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("%s is a non-empty directory muslrust-chef did not write (it has no %s file): refusing to replace it; %w", shown, Marker, fix)
}

func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
