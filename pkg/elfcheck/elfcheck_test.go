package elfcheck

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

func TestMain(m *testing.M) {
	code := m.Run()
	fixtures.Cleanup()
	os.Exit(code)
}

func mustPlatform(t *testing.T, s string) platform.Platform {
	t.Helper()
	p, err := platform.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func hostPlatform(t *testing.T) platform.Platform {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		testinfra.Missing(t, "host fixtures (gcc, cgo) are built for the host, which is "+runtime.GOOS+"/"+runtime.GOARCH,
			"run the tests on linux/amd64 or linux/arm64")
	}
	return mustPlatform(t, runtime.GOARCH)
}

func TestStaticBinariesPass(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		p := mustPlatform(t, arch)
		res, err := Verify(fixtures.GoStatic(t, arch), p)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if res.Linkage != Static {
			t.Errorf("%s: Go static binary reported as %s", arch, res.Linkage)
		}
	}
}

func TestCStaticPasses(t *testing.T) {
	p := hostPlatform(t)
	res, err := Verify(fixtures.CStatic(t), p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Linkage != Static {
		t.Errorf("gcc -static reported as %s", res.Linkage)
	}
}

func TestRustStaticPIEPasses(t *testing.T) {
	testinfra.RequireHostArch(t, "amd64", "the Rust static-pie fixture is built for x86_64 by the host's cargo")
	res, err := Verify(fixtures.RustStaticPIE(t), mustPlatform(t, "linux/amd64"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Linkage != StaticPIE {
		t.Errorf("Rust crt-static binary reported as %s, want static-pie", res.Linkage)
	}
}

func TestWrongArchNamesBothSides(t *testing.T) {
	_, err := Verify(fixtures.GoStatic(t, "arm64"), mustPlatform(t, "linux/amd64"))
	assertErr(t, err, "aarch64 binary in the linux/amd64 slot", "--target x86_64-unknown-linux-musl")
	_, err = Verify(fixtures.GoStatic(t, "amd64"), mustPlatform(t, "linux/arm64"))
	assertErr(t, err, "x86_64 binary in the linux/arm64 slot", "dist/linux_arm64")
}

func TestDynamicBinaryNamesInterpreterAndLibraries(t *testing.T) {
	_, err := Verify(fixtures.GoDynamic(t), hostPlatform(t))
	assertErr(t, err, "dynamically linked", "libc.so", "crt-static")
}

func TestSharedLibraryRejected(t *testing.T) {
	_, err := Verify(fixtures.CSharedLibrary(t), hostPlatform(t))
	assertErr(t, err, "shared librar")
}

func TestNonELFAndMissing(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "run.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o755)
	p := mustPlatform(t, "amd64")

	_, err := Verify(script, p)
	assertErr(t, err, "not an ELF file (a script)")
	_, err = Verify(empty, p)
	assertErr(t, err, "not an ELF file (empty file)")
	_, err = Verify(filepath.Join(dir, "absent"), p)
	assertErr(t, err, "binary not found")
	_, err = Verify(dir, p)
	assertErr(t, err, "is a directory")
}

func assertErr(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("verification passed, want an error containing %q", wants)
	}
	var verr *Error
	if !errors.As(err, &verr) {
		t.Fatalf("error %T is not *elfcheck.Error: %v", err, err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans several lines: %q", msg)
	}
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q lacks %q", msg, w)
		}
	}
}
