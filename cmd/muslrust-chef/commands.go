package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// targetPlatform resolves the platform being built: the --platform flag,
// else TARGETARCH (BuildKit sets it for `ARG TARGETARCH` and the image
// build passes it on), else the machine this runs on.
func targetPlatform(flagValue string) (platform.Platform, error) {
	if flagValue != "" {
		p, err := platform.Parse(flagValue)
		if err != nil {
			return p, usagef("--platform: %v", err)
		}
		return p, nil
	}
	if arch := strings.TrimSpace(os.Getenv("TARGETARCH")); arch != "" {
		p, err := platform.Parse(arch)
		if err != nil {
			return p, usagef("TARGETARCH=%s: %v, or pass --platform", arch, err)
		}
		return p, nil
	}
	p, err := platform.Host()
	if err != nil {
		return p, usagef("cannot tell the target platform on this machine (%v): pass --platform or set TARGETARCH", err)
	}
	return p, nil
}

func noPositional(cmd string, positional []string) error {
	if len(positional) > 0 {
		return usagef("%s takes no arguments, got %q (muslrust-chef %s -h)", cmd, strings.Join(positional, " "), cmd)
	}
	return nil
}

func cmdTriple(args []string, stdout, _ io.Writer) error {
	fs := newFlags("triple", "triple [--platform P] [--libc musl|gnu]", stdout)
	plat := fs.String("platform", "", "platform: linux/amd64, linux/arm64, amd64, arm64 (default $TARGETARCH, else this machine)")
	libc := fs.String("libc", platform.DefaultLibc, "libc half of the triple: musl, or gnu for static glibc builds")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if err := noPositional("triple", pos); err != nil {
		return err
	}
	p, err := targetPlatform(*plat)
	if err != nil {
		return err
	}
	l, err := platform.Libc(*libc)
	if err != nil {
		return usagef("--libc: %v", err)
	}
	fmt.Fprintln(stdout, p.Triple(l))
	return nil
}

func cmdLocate(args []string, stdout, _ io.Writer) error {
	fs := newFlags("locate", "locate --bin NAME [--target T] [--profile P] [--target-dir D] [--out PATH]", stdout)
	bin := fs.String("bin", "", "binary name (cargo [[bin]] name); required")
	target := fs.String("target", "", "target triple (default $CARGO_BUILD_TARGET, else the musl triple of $TARGETARCH or this machine)")
	profile := fs.String("profile", "release", "cargo profile: release, dev or a custom profile")
	targetDir := fs.String("target-dir", "", "cargo target directory (default $CARGO_TARGET_DIR, else ./target)")
	out := fs.String("out", "", "copy the binary to this file (or into this directory), atomically")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if err := noPositional("locate", pos); err != nil {
		return err
	}
	if *bin == "" {
		return usagef("locate needs --bin NAME: the cargo binary name (muslrust-chef locate -h)")
	}
	if strings.ContainsAny(*bin, `/\`) {
		return usagef("--bin %q is a path: give the binary name only", *bin)
	}
	triple := *target
	if triple == "" {
		triple = strings.TrimSpace(os.Getenv("CARGO_BUILD_TARGET"))
	}
	if triple == "" {
		p, err := targetPlatform("")
		if err != nil {
			return err
		}
		triple = p.Triple("")
	}
	dir := *targetDir
	if dir == "" {
		dir = os.Getenv("CARGO_TARGET_DIR")
	}
	flags := cargo.Flags{Profile: *profile, Triple: triple, TargetDir: dir}
	if err := flags.Validate(); err != nil {
		return usagef("%v", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	path := flags.BinPath(wd, *bin)
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("no binary at %s: build it first with cargo build --profile %s --target %s --bin %s (or fix --bin/--target/--profile/--target-dir)",
			path, flags.ProfileName(), triple, *bin)
	case err != nil:
		return fmt.Errorf("cannot read %s: %w", path, err)
	case st.IsDir():
		return fmt.Errorf("%s is a directory, not a binary: check --bin", path)
	}
	if *out == "" {
		fmt.Fprintln(stdout, path)
		return nil
	}
	dst, err := copyAtomic(path, *out, *bin)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, dst)
	return nil
}

// copyAtomic copies src to dst (or into dst/<name> when dst is a
// directory) through a temporary file in the destination directory and a
// rename, so nobody ever sees a half-written executable.
func copyAtomic(src, dst, name string) (string, error) {
	if st, err := os.Stat(dst); err == nil && st.IsDir() {
		dst = filepath.Join(dst, name)
	} else if strings.HasSuffix(dst, "/") {
		return "", fmt.Errorf("--out %s: directory does not exist: create it first", dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", src, err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(dst)
	// A missing directory is a mistyped --out, not one to create.
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("--out %s: cannot write in %s: no such directory; create it first", dst, dir)
	}
	// The copy's own failure is told apart from the output's.
	var copyErr error
	err = atomicdir.WriteFile(dst, st.Mode().Perm()|0o111, atomicdir.FileOptions{Fix: errors.New("choose another --out")}, func(w io.Writer) error {
		_, copyErr = io.Copy(w, in)
		return copyErr
	})
	if copyErr != nil {
		return "", fmt.Errorf("copying %s to %s: %w", src, dst, copyErr)
	}
	if err != nil {
		return "", fmt.Errorf("--out %s: %w", dst, err)
	}
	return dst, nil
}

func cmdVerify(args []string, stdout, stderr io.Writer) error {
	const synopsis = "verify PATH [--platform P] [--libc musl|gnu|any] [--require-allocator mimalloc|jemalloc]"
	fs := newFlags("verify", synopsis, stdout)
	plat := fs.String("platform", "", "platform the binary must be for (default $TARGETARCH, else this machine)")
	libc := fs.String("libc", "musl", "C library the binary must link (musl or gnu; any to only name it)")
	alloc := fs.String("require-allocator", os.Getenv(envRequireAllocator),
		"allocator the binary must use, mimalloc or jemalloc (default $"+envRequireAllocator+"; unset: a multi-threaded binary on musl's malloc only gets a warning)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("verify takes exactly one PATH, got %d (muslrust-chef %s)", len(pos), synopsis)
	}
	p, err := targetPlatform(*plat)
	if err != nil {
		return err
	}
	var want elfcheck.Libc
	if *libc != "any" {
		if want, err = elfcheck.ParseLibc(*libc); err != nil || want == "" {
			return usagef("verify: --libc %q: use musl, gnu or any", *libc)
		}
	}
	wantAlloc, err := elfcheck.ParseRequiredAllocator(*alloc)
	if err != nil {
		return usagef("verify: --require-allocator (or %s): %v", envRequireAllocator, err)
	}
	res, err := elfcheck.VerifyLibc(pos[0], p, want)
	if err != nil {
		return err
	}
	if err := elfcheck.RequireAllocator(res, wantAlloc); err != nil {
		return err
	}
	kind := p.String()
	if res.Libc == elfcheck.Musl || res.Libc == elfcheck.Glibc {
		kind += " " + string(res.Libc)
	}
	fmt.Fprintf(stdout, "%s: %s %s executable, no interpreter, no shared libraries, %s\n", res.Path, res.Linkage, kind, res.Alloc)
	if w := elfcheck.AllocatorWarning(res); w != nil {
		fmt.Fprintf(stderr, "muslrust-chef: %s\n", option.Render(w, helperKnob))
	}
	return nil
}

// helperKnob spells the options the libraries name in their messages the
// way the helper's user sets them: verify's --libc flag, and the allocator
// requirement by the variable the helper reads like the kit.
func helperKnob(r option.Ref) string {
	switch r.Opt {
	case option.Libc:
		return "--libc"
	case option.RequireAllocator:
		return envRequireAllocator
	}
	return r.String()
}

// envRequireAllocator is the kit's knob, read by the helper as a default
// so a Dockerfile's ENV or build argument reaches verify.
const envRequireAllocator = "MUSLRUST_CHEF_REQUIRE_ALLOCATOR"
