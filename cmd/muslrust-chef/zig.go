package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/zigcc"
)

// envZig names the zig executable; default: zig on PATH.
const envZig = "MUSLRUST_CHEF_ZIG"

const zigSynopsis = `zig cc|c++|ar TRIPLE [ARGS...]
      Run zig as the C compiler, C++ compiler or archiver (and, as cc, the
      linker) of a Rust *-linux-musl TRIPLE: maps the triple to zig's
      -target, drops flags zig refuses, adds the LFS64 forwarders to links.
      The same runs as zigcc-TRIPLE, zigcxx-TRIPLE, zigar-TRIPLE (symlinks).
  muslrust-chef zig links [--dir DIR] TRIPLE...
      Create those symlinks in DIR (default: the helper's own directory).`

// exitError carries a child's exit code through run (the compiler already
// printed its diagnostics).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func cmdZig(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		if len(args) == 0 {
			return usagef("zig needs a tool: muslrust-chef %s", oneline.String(zigSynopsis))
		}
		fmt.Fprintln(stdout, "Usage: muslrust-chef "+zigSynopsis)
		return nil
	}
	if args[0] == "links" {
		return cmdZigLinks(args[1:], stdout)
	}
	tool, err := zigcc.ParseTool(args[0])
	if err != nil {
		return usagef("zig: %v (muslrust-chef zig -h)", err)
	}
	if len(args) < 2 {
		return usagef("zig %s needs the Rust target triple: muslrust-chef zig %s x86_64-unknown-linux-musl ARGS...", tool, tool)
	}
	return runZig(context.Background(), tool, args[1], args[2:], stdin, stdout, stderr)
}

// runZig builds zig's command line and runs it with the caller's stdio.
func runZig(ctx context.Context, tool zigcc.Tool, triple string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if _, err := zigcc.ZigTarget(triple); err != nil {
		return usagef("zig %s: %v", tool, err)
	}
	zig := os.Getenv(envZig)
	if zig == "" {
		zig = "zig"
	}
	zigPath, err := exec.LookPath(zig)
	if err != nil {
		return fmt.Errorf("zig wrapper: cannot run %q (%v): install zig 0.11 or newer, put it on PATH or set %s to its path", zig, unwrapExec(err), envZig)
	}
	args, rsp, err := zigcc.ExpandResponseFiles(args)
	if err != nil {
		return err
	}
	var zargs []string
	if tool == zigcc.AR {
		zargs = zigcc.ArArgs(args)
	} else {
		lfs64, err := zigcc.WriteLFS64(os.TempDir())
		if err != nil {
			return err
		}
		if zargs, err = zigcc.CompilerArgs(tool, triple, args, lfs64); err != nil {
			return usagef("%v", err)
		}
	}
	if rsp {
		// The arguments came in a response file because they were too
		// long for one command line: hand them on the same way.
		f, err := zigcc.WriteResponseFile(os.TempDir(), zargs[1:])
		if err != nil {
			return err
		}
		defer os.Remove(f)
		zargs = []string{zargs[0], "@" + f}
	}
	cmd := exec.CommandContext(ctx, zigPath, zargs...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return &exitError{code: ee.ExitCode()}
		}
		return fmt.Errorf("zig wrapper: running %s: %w", zigPath, err)
	}
	return nil
}

func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

func cmdZigLinks(args []string, stdout io.Writer) error {
	fs := newFlags("zig links", "zig links [--dir DIR] TRIPLE...", stdout)
	dir := fs.String("dir", "", "directory for the symlinks (default: the helper's own directory)")
	triples, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(triples) == 0 {
		return usagef("zig links needs at least one triple: muslrust-chef zig links x86_64-unknown-linux-musl aarch64-unknown-linux-musl")
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("zig links: cannot find the helper's own path: %w", err)
	}
	if *dir == "" {
		*dir = filepath.Dir(self)
	}
	for _, t := range triples {
		if _, err := zigcc.ZigTarget(t); err != nil {
			return usagef("zig links: %v", err)
		}
		for _, tool := range []zigcc.Tool{zigcc.CC, zigcc.CXX, zigcc.AR} {
			link := filepath.Join(*dir, zigcc.LinkName(tool, t))
			if err := atomicdir.Symlink(self, link, atomicdir.FileOptions{Fix: errors.New("choose another --dir")}); err != nil {
				return fmt.Errorf("zig links: %w", err)
			}
			fmt.Fprintln(stdout, link)
		}
	}
	return nil
}

// linkNameMain runs the wrapper when the helper was started through one
// of its link names (zigcc-<triple>, ...); ok is false otherwise.
func linkNameMain(argv0 string, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int, ok bool) {
	tool, triple, ok := zigcc.FromLinkName(filepath.Base(argv0))
	if !ok {
		return 0, false
	}
	err := runZig(context.Background(), tool, triple, args, stdin, stdout, stderr)
	return exitCode(err, stderr), true
}

// exitCode prints err (one line) and returns the process exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "muslrust-chef: "+oneline.String(option.Render(err, helperKnob)))
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}
