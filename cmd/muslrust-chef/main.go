// Command muslrust-chef is the small static helper baked into the
// muslrust-chef builder image. It replaces the original shell scripts
// (get-executable.sh, verify-static-build.sh) and the triple guessing done
// in Dockerfiles, with the kit's own libraries:
//
//	muslrust-chef triple [--platform P] [--libc musl|gnu]
//	muslrust-chef locate --bin NAME [--target T] [--profile P] [--target-dir D] [--out PATH]
//	muslrust-chef verify PATH [--platform P] [--libc musl|gnu|any] [--require-allocator mimalloc|jemalloc]
//	muslrust-chef zig cc|c++|ar TRIPLE [ARGS...]   (also as zigcc-TRIPLE, zigcxx-TRIPLE, zigar-TRIPLE)
//
// Exit codes: 0 success, 1 failure (binary missing, not static, copy
// failed), 2 usage error (unknown command or flag, bad platform).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time (-ldflags "-X main.version=...") by the
// image build; "dev" for a plain go build.
var version = "dev"

const usageText = `muslrust-chef: helper for static Rust builds in the muslrust-chef builder image

Usage:
  muslrust-chef triple [--platform P] [--libc musl|gnu]
      Print the Rust target triple for the platform being built.
  muslrust-chef locate --bin NAME [--target T] [--profile P] [--target-dir D] [--out PATH]
      Print the exact path cargo wrote the binary to; with --out, copy it there.
  muslrust-chef verify PATH [--platform P] [--libc musl|gnu|any] [--require-allocator mimalloc|jemalloc]
      Check that PATH is a static executable for the platform, linking
      the C library asked for (default musl); name its allocator, warn
      when a multi-threaded binary uses musl's malloc, and fail when it
      does not use the required allocator ($MUSLRUST_CHEF_REQUIRE_ALLOCATOR).
  muslrust-chef zig cc|c++|ar TRIPLE [ARGS...]
      Run zig as C compiler, linker or archiver for a *-linux-musl triple
      (also started as zigcc-TRIPLE, zigcxx-TRIPLE, zigar-TRIPLE).
  muslrust-chef zig links [--dir DIR] TRIPLE...
      Create those zigcc-/zigcxx-/zigar- symlinks.
  muslrust-chef version
      Print the helper's version.

The platform defaults to $TARGETARCH (set by BuildKit for ARG TARGETARCH),
else the machine this runs on. Run "muslrust-chef <command> -h" for details.
Exit codes: 0 ok, 1 failure, 2 usage error.
`

func main() {
	// cargo's linker setting names one program: the zig wrapper's link
	// names (zigcc-<triple>, ...) are symlinks to this helper.
	if code, ok := linkNameMain(os.Args[0], os.Args[1:], os.Stdin, os.Stdout, os.Stderr); ok {
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError marks errors caused by how the command was invoked (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// run is main without os.Exit, returning the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "triple":
		err = cmdTriple(rest, stdout, stderr)
	case "locate":
		err = cmdLocate(rest, stdout, stderr)
	case "verify":
		err = cmdVerify(rest, stdout, stderr)
	case "zig":
		err = cmdZig(rest, os.Stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "muslrust-chef "+version)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
	default:
		err = usagef("unknown command %q: use triple, locate, verify or zig (muslrust-chef --help)", cmd)
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return exitCode(err, stderr)
}

// flags is one command's flag set plus its help text.
type flags struct {
	*flag.FlagSet
	synopsis string
	stdout   io.Writer
}

// newFlags returns a flag set that reports errors to the caller instead of
// exiting; help (on -h) goes to stdout.
func newFlags(name, synopsis string, stdout io.Writer) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// The flag package calls Usage on every parse error too; help is
	// printed by parse, on -h only, so errors stay one line on stderr.
	fs.Usage = func() {}
	return &flags{FlagSet: fs, synopsis: synopsis, stdout: stdout}
}

func (f *flags) help() {
	fmt.Fprintf(f.stdout, "Usage: muslrust-chef %s\n\n", f.synopsis)
	f.SetOutput(f.stdout)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
}

// parse parses flags and positional arguments in any order (Go's flag
// package stops at the first positional, but `verify PATH --platform P` is
// how people type it). "--" ends flag parsing.
func (f *flags) parse(args []string) ([]string, error) {
	var positional []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.help()
				return nil, err
			}
			return nil, usagef("%s: %v (muslrust-chef %s -h)", f.Name(), err, f.Name())
		}
		rest := f.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			// After a "--" terminator everything is positional.
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
