package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// cli is the helper built once by TestMain, exactly as the image build does
// (static, CGO_ENABLED=0), so the tests exercise the real binary: its exit
// codes, stdout and stderr.
var cli string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "muslrust-chef-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cli = filepath.Join(dir, "muslrust-chef")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-X main.version=9.8.7-test", "-o", cli, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the CLI: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	fixtures.Cleanup()
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the helper in dir with a clean environment: the variables the
// helper reads are only those given in env.
func runCLI(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(cli, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "TARGETARCH", "CARGO_BUILD_TARGET", "CARGO_TARGET_DIR", envRequireAllocator:
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// wantFail checks the exit code and that stderr is one line naming want.
func wantFail(t *testing.T, r result, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d (stdout %q, stderr %q)", r.code, code, r.stdout, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout should be empty on failure, got %q", r.stdout)
	}
	if n := strings.Count(r.stderr, "\n"); n != 1 || !strings.HasPrefix(r.stderr, "muslrust-chef: ") {
		t.Errorf("stderr is not one muslrust-chef: line: %q", r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q lacks %q", r.stderr, w)
		}
	}
}

func wantOut(t *testing.T, r result, stdout string) {
	t.Helper()
	if r.code != 0 || r.stdout != stdout || r.stderr != "" {
		t.Errorf("got exit %d stdout %q stderr %q, want exit 0 stdout %q", r.code, r.stdout, r.stderr, stdout)
	}
}

func TestTriple(t *testing.T) {
	dir := t.TempDir()
	hostTriple := map[string]string{"amd64": "x86_64-unknown-linux-musl", "arm64": "aarch64-unknown-linux-musl"}[runtime.GOARCH]
	cases := []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{"TARGETARCH=amd64"}, nil, "x86_64-unknown-linux-musl"},
		{[]string{"TARGETARCH=arm64"}, nil, "aarch64-unknown-linux-musl"},
		{[]string{"TARGETARCH=arm64"}, []string{"--libc", "gnu"}, "aarch64-unknown-linux-gnu"},
		// --platform wins over TARGETARCH; Docker, Rust and uname spellings all work.
		{[]string{"TARGETARCH=amd64"}, []string{"--platform", "linux/arm64/v8"}, "aarch64-unknown-linux-musl"},
		{nil, []string{"--platform=x86_64"}, "x86_64-unknown-linux-musl"},
		{nil, []string{"-platform", "aarch64", "-libc=musl"}, "aarch64-unknown-linux-musl"},
		{nil, nil, hostTriple},
	}
	for _, c := range cases {
		r := runCLI(t, dir, c.env, append([]string{"triple"}, c.args...)...)
		wantOut(t, r, c.want+"\n")
	}

	wantFail(t, runCLI(t, dir, nil, "triple", "--platform", "linux/s390x"), 2, `unsupported platform "linux/s390x"`, "linux/amd64, linux/arm64")
	wantFail(t, runCLI(t, dir, []string{"TARGETARCH=riscv64"}, "triple"), 2, "TARGETARCH=riscv64", "--platform")
	wantFail(t, runCLI(t, dir, nil, "triple", "--libc", "uclibc"), 2, `unsupported libc "uclibc"`)
	wantFail(t, runCLI(t, dir, nil, "triple", "amd64"), 2, "triple takes no arguments")
	wantFail(t, runCLI(t, dir, nil, "triple", "--arch", "amd64"), 2, "flag provided but not defined: -arch")
}

func TestUsageHelpVersion(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, nil)
	if r.code != 2 || !strings.Contains(r.stderr, "Usage:") || r.stdout != "" {
		t.Errorf("no arguments: exit %d stderr %q", r.code, r.stderr)
	}
	for _, h := range []string{"--help", "help", "-h"} {
		r = runCLI(t, dir, nil, h)
		if r.code != 0 || !strings.Contains(r.stdout, "muslrust-chef locate --bin NAME") || !strings.Contains(r.stdout, "Exit codes") {
			t.Errorf("%s: exit %d stdout %q", h, r.code, r.stdout)
		}
	}
	r = runCLI(t, dir, nil, "verify", "-h")
	if r.code != 0 || !strings.Contains(r.stdout, "verify PATH [--platform P]") || !strings.Contains(r.stdout, "-platform") {
		t.Errorf("verify -h: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	wantOut(t, runCLI(t, dir, nil, "version"), "muslrust-chef 9.8.7-test\n")
	wantFail(t, runCLI(t, dir, nil, "get-executable"), 2, `unknown command "get-executable"`)
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	amd64 := fixtures.GoStatic(t, "amd64")
	arm64 := fixtures.GoStatic(t, "arm64")

	wantOut(t, runCLI(t, dir, []string{"TARGETARCH=amd64"}, "verify", amd64),
		amd64+": static linux/amd64 executable, no interpreter, no shared libraries, allocator Go runtime, multi-threaded\n")
	// Flags after the path, as people type them.
	wantOut(t, runCLI(t, dir, nil, "verify", arm64, "--platform", "linux/arm64"),
		arm64+": static linux/arm64 executable, no interpreter, no shared libraries, allocator Go runtime, multi-threaded\n")
	wantOut(t, runCLI(t, dir, []string{"TARGETARCH=arm64"}, "verify", "--", arm64),
		arm64+": static linux/arm64 executable, no interpreter, no shared libraries, allocator Go runtime, multi-threaded\n")

	// The seed's failure: an x86_64 artifact shipped as arm64.
	wantFail(t, runCLI(t, dir, []string{"TARGETARCH=arm64"}, "verify", amd64), 1, "x86_64 binary in the linux/arm64 slot", "aarch64-unknown-linux-musl")
	wantFail(t, runCLI(t, dir, nil, "verify", filepath.Join(dir, "missing")), 1, "binary not found")
	wantFail(t, runCLI(t, dir, nil, "verify"), 2, "verify takes exactly one PATH")
	wantFail(t, runCLI(t, dir, nil, "verify", amd64, arm64), 2, "verify takes exactly one PATH, got 2")
	wantFail(t, runCLI(t, dir, nil, "verify", amd64, "--platform", "windows/amd64"), 2, "unsupported platform")
}

func TestVerifyDynamicAndStaticPIE(t *testing.T) {
	dir := t.TempDir()
	dyn := fixtures.GoDynamic(t)
	wantFail(t, runCLI(t, dir, nil, "verify", dyn), 1, "dynamically linked", "program interpreter", "crt-static")

	testinfra.RequireHostArch(t, "amd64", "the Rust static-pie fixture is built for x86_64 by the host's cargo")
	pie := fixtures.RustStaticPIE(t)
	// A static glibc binary: refused when musl is expected (the default),
	// accepted and named when glibc is asked for.
	wantFail(t, runCLI(t, dir, []string{"TARGETARCH=amd64"}, "verify", pie), 1,
		"linux/amd64 rust-static-pie is a static glibc binary, expected musl: "+pie)
	wantOut(t, runCLI(t, dir, []string{"TARGETARCH=amd64"}, "verify", pie, "--libc", "gnu"),
		pie+": static-pie linux/amd64 glibc executable, no interpreter, no shared libraries, allocator glibc malloc\n")
	wantOut(t, runCLI(t, dir, []string{"TARGETARCH=amd64"}, "verify", pie, "--libc=any"),
		pie+": static-pie linux/amd64 glibc executable, no interpreter, no shared libraries, allocator glibc malloc\n")
	wantFail(t, runCLI(t, dir, nil, "verify", pie, "--libc", "uclibc"), 2, `--libc "uclibc": use musl, gnu or any`)
}

// workspace lays out a cargo target directory holding real binaries, plus
// decoys a `find target/*/release/app` glob would have picked up.
func workspace(t *testing.T) (dir, amd64, arm64 string) {
	t.Helper()
	dir = t.TempDir()
	amd64Src, arm64Src := fixtures.GoStatic(t, "amd64"), fixtures.GoStatic(t, "arm64")
	put := func(rel, src string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	amd64 = put("target/x86_64-unknown-linux-musl/release/app", amd64Src)
	arm64 = put("target/aarch64-unknown-linux-musl/release/app", arm64Src)
	put("target/x86_64-unknown-linux-musl/debug/app", arm64Src)
	put("target/release/app", arm64Src) // host build without --target
	put("custom/x86_64-unknown-linux-gnu/fast/app", amd64Src)
	return dir, amd64, arm64
}

func TestLocate(t *testing.T) {
	dir, amd64, arm64 := workspace(t)
	wantOut(t, runCLI(t, dir, []string{"TARGETARCH=amd64"}, "locate", "--bin", "app"), amd64+"\n")
	wantOut(t, runCLI(t, dir, []string{"TARGETARCH=arm64"}, "locate", "--bin", "app"), arm64+"\n")
	// clux/muslrust sets CARGO_BUILD_TARGET; it wins over TARGETARCH.
	wantOut(t, runCLI(t, dir, []string{"TARGETARCH=amd64", "CARGO_BUILD_TARGET=aarch64-unknown-linux-musl"}, "locate", "--bin", "app"), arm64+"\n")
	wantOut(t, runCLI(t, dir, nil, "locate", "--bin", "app", "--target", "x86_64-unknown-linux-musl", "--profile", "dev"),
		filepath.Join(dir, "target/x86_64-unknown-linux-musl/debug/app")+"\n")
	wantOut(t, runCLI(t, dir, nil, "locate", "--bin=app", "--target=x86_64-unknown-linux-gnu", "--profile=fast", "--target-dir=custom"),
		filepath.Join(dir, "custom/x86_64-unknown-linux-gnu/fast/app")+"\n")
	wantOut(t, runCLI(t, dir, []string{"CARGO_TARGET_DIR=custom"}, "locate", "--bin", "app", "--target", "x86_64-unknown-linux-gnu", "--profile", "fast"),
		filepath.Join(dir, "custom/x86_64-unknown-linux-gnu/fast/app")+"\n")

	// Exact path, never a glob: the release binary of another name is not
	// taken for this one, and a missing one says how to build it.
	wantFail(t, runCLI(t, dir, []string{"TARGETARCH=amd64"}, "locate", "--bin", "ap"), 1,
		"no binary at "+filepath.Join(dir, "target/x86_64-unknown-linux-musl/release/ap"), "cargo build --profile release --target x86_64-unknown-linux-musl --bin ap")
	wantFail(t, runCLI(t, dir, nil, "locate", "--bin", "app", "--target", "riscv64gc-unknown-linux-musl"), 2, `target triple "riscv64gc-unknown-linux-musl" is not one this kit builds`)
	wantFail(t, runCLI(t, dir, nil, "locate"), 2, "locate needs --bin NAME")
	wantFail(t, runCLI(t, dir, nil, "locate", "--bin", "target/app"), 2, "is a path")
	wantFail(t, runCLI(t, dir, nil, "locate", "--bin", "app", "--profile", "my profile"), 2, `profile "my profile" is not a valid cargo profile name`)
	wantFail(t, runCLI(t, dir, nil, "locate", "--bin", "app", "extra"), 2, "locate takes no arguments")
	wantFail(t, runCLI(t, dir, []string{"TARGETARCH=ppc64le"}, "locate", "--bin", "app"), 2, "TARGETARCH=ppc64le")
}

func TestLocateOut(t *testing.T) {
	dir, amd64, _ := workspace(t)
	want, err := os.ReadFile(amd64)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"TARGETARCH=amd64"}

	// To a file (replacing an old one), then into a directory.
	out := filepath.Join(dir, "executable")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantOut(t, runCLI(t, dir, env, "locate", "--bin", "app", "--out", out), out+"\n")
	binDir := filepath.Join(dir, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	wantOut(t, runCLI(t, dir, env, "locate", "--bin", "app", "--out", binDir), filepath.Join(binDir, "app")+"\n")
	for _, p := range []string{out, filepath.Join(binDir, "app")} {
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: not a copy of the artifact (%v)", p, err)
		}
		if st, err := os.Stat(p); err != nil || st.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable: %v", p, st.Mode())
		}
	}
	// The copy is what verify accepts: the seed's get-executable + verify pair.
	wantOut(t, runCLI(t, dir, env, "verify", out), out+": static linux/amd64 executable, no interpreter, no shared libraries, allocator Go runtime, multi-threaded\n")

	// A destination that cannot be written leaves nothing behind.
	wantFail(t, runCLI(t, dir, env, "locate", "--bin", "app", "--out", filepath.Join(dir, "nope", "x")), 1, "cannot write in")
	wantFail(t, runCLI(t, dir, env, "locate", "--bin", "app", "--out", filepath.Join(dir, "nodir")+"/"), 1, "directory does not exist")
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o555)
		wantFail(t, runCLI(t, dir, env, "locate", "--bin", "app", "--out", filepath.Join(ro, "x")), 1, "permission denied")
	}
	// A missing artifact does not touch the destination.
	wantFail(t, runCLI(t, dir, env, "locate", "--bin", "other", "--out", out), 1, "no binary at")
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Error("a failed locate changed --out")
	}
	for _, d := range []string{dir, binDir} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if atomicdir.IsTemp(e.Name()) {
				t.Errorf("temporary file left: %s", filepath.Join(d, e.Name()))
			}
		}
	}
}

func TestZigUsage(t *testing.T) {
	dir := t.TempDir()
	wantFail(t, runCLI(t, dir, nil, "zig"), 2, "zig needs a tool")
	wantFail(t, runCLI(t, dir, nil, "zig", "ld", "x86_64-unknown-linux-musl"), 2, `unknown zig tool "ld"`)
	wantFail(t, runCLI(t, dir, nil, "zig", "cc"), 2, "needs the Rust target triple")
	wantFail(t, runCLI(t, dir, nil, "zig", "cc", "x86_64-unknown-linux-gnu", "-c", "a.c"), 2, "only builds for musl")
	wantFail(t, runCLI(t, dir, []string{"MUSLRUST_CHEF_ZIG=" + filepath.Join(dir, "no-zig")}, "zig", "cc", "x86_64-unknown-linux-musl", "-c", "a.c"),
		1, "cannot run", "MUSLRUST_CHEF_ZIG")
	wantFail(t, runCLI(t, dir, nil, "zig", "links", "--dir", dir), 2, "at least one triple")
}

// The link names are symlinks to the helper; started through one, the
// helper runs zig with the translated arguments and passes zig's exit code
// and output through. A fake zig records its arguments: the real one is
// exercised by TestZigLinksStaticMusl.
func TestZigLinkNamesRunZig(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, nil, "zig", "links", "--dir", dir, "aarch64-unknown-linux-musl")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 3 {
		t.Fatalf("zig links: %+v", r)
	}
	fake := filepath.Join(dir, "zig")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$0.args\"\nexit 7\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(dir, "zigcc-aarch64-unknown-linux-musl"), "--target=aarch64-unknown-linux-musl", "main.o", "-o", "app")
	cmd.Env = append(os.Environ(), "MUSLRUST_CHEF_ZIG="+fake)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 || len(out) != 0 {
		t.Fatalf("zig's exit code 7 not passed through: %v %q", err, out)
	}
	args, err := os.ReadFile(fake + ".args")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(string(args)), "\n")
	if len(got) != 7 || strings.Join(got[:6], " ") != "cc -target aarch64-linux-musl main.o -o app" || !strings.HasSuffix(got[6], ".c") {
		t.Errorf("zig got %q", got)
	}
	cmd = exec.Command(filepath.Join(dir, "zigar-aarch64-unknown-linux-musl"), "cq", "libx.a", "x.o")
	cmd.Env = append(os.Environ(), "MUSLRUST_CHEF_ZIG="+fake)
	cmd.Run()
	if args, _ := os.ReadFile(fake + ".args"); string(args) != "ar\ncq\nlibx.a\nx.o\n" {
		t.Errorf("zig ar got %q", args)
	}
}

// The wrapper links a C program (which calls an LFS64 name zig's musl
// dropped) with the real zig for both musl triples: static, right machine,
// and it runs (aarch64 under QEMU when binfmt allows).
func TestZigLinksStaticMusl(t *testing.T) {
	zig := testinfra.Zig(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "hello.c")
	if err := os.WriteFile(src, []byte(`#include <stdio.h>
#include <fcntl.h>
int open64(const char *, int, ...);
int main(void) { int fd = open64("/proc/self/exe", O_RDONLY); printf("hello fd>=0:%d\n", fd >= 0); return 0; }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		triple, platform string
	}{{"x86_64-unknown-linux-musl", "linux/amd64"}, {"aarch64-unknown-linux-musl", "linux/arm64"}} {
		out := filepath.Join(dir, "hello-"+c.triple)
		// The flags the cc crate and rustc pass that zig refuses.
		r := runCLI(t, dir, []string{"MUSLRUST_CHEF_ZIG=" + zig}, "zig", "cc", c.triple,
			"--target="+c.triple, "-O2", src, "-o", out, "-Wl,--defsym=unused_sym=main")
		if r.code != 0 {
			t.Fatalf("%s: zig cc failed: %+v", c.triple, r)
		}
		p, err := platform.Parse(c.platform)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := elfcheck.Verify(out, p); err != nil {
			t.Errorf("%s: %v", c.triple, err)
		}
		// verify names the libc and refuses the other one.
		r = runCLI(t, dir, nil, "verify", out, "--platform", c.platform)
		if r.code != 0 || !strings.Contains(r.stdout, c.platform+" musl executable") {
			t.Errorf("%s: verify: %+v", c.triple, r)
		}
		wantFail(t, runCLI(t, dir, nil, "verify", out, "--platform", c.platform, "--libc", "gnu"), 1,
			c.platform+" "+filepath.Base(out)+" is a static musl binary, expected glibc")
		if c.platform == "linux/arm64" && !testinfra.CanRunArm64() {
			continue
		}
		if c.platform == "linux/amd64" && runtime.GOARCH != "amd64" {
			continue
		}
		got, err := exec.Command(out).CombinedOutput()
		if err != nil || string(got) != "hello fd>=0:1\n" {
			t.Errorf("%s: running it: %v %q", c.triple, err, got)
		}
	}
}
