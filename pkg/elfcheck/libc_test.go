package elfcheck

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

func TestLibcOfGlibcAndGo(t *testing.T) {
	p := hostPlatform(t)
	for name, c := range map[string]struct {
		path string
		want Libc
	}{
		"gcc -static": {fixtures.CStatic(t), Glibc},
		"Go":          {fixtures.GoStatic(t, "amd64"), NoLibc},
	} {
		got, err := detectLibcFile(c.path)
		if err != nil || got != c.want {
			t.Errorf("%s: detectLibcFile = %q, %v; want %q", name, got, err, c.want)
		}
	}
	res, err := VerifyLibc(fixtures.CStatic(t), p, Glibc)
	if err != nil || res.Libc != Glibc {
		t.Errorf("glibc asked, glibc found: %+v %v", res, err)
	}
	// The one-line error the pipeline shows.
	bin := fixtures.CStatic(t)
	_, err = VerifyLibc(bin, p, Musl)
	var le *LibcError
	if !errors.As(err, &le) {
		t.Fatalf("musl asked, glibc found: err = %v", err)
	}
	want := p.String() + " " + filepath.Base(bin) + " is a static glibc binary, expected musl: " + bin + "; "
	if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), p.Triple("musl")) {
		t.Errorf("error %q, want it to start %q and name %s", err, want, p.Triple("musl"))
	}
	// A Go program links no libc: never a mismatch.
	if _, err := VerifyLibc(fixtures.GoStatic(t, "arm64"), mustPlatform(t, "linux/arm64"), Musl); err != nil {
		t.Errorf("Go binary: %v", err)
	}
}

func TestRustGlibcStaticPIEIsGlibc(t *testing.T) {
	bin := fixtures.RustStaticPIE(t)
	if got, err := detectLibcFile(bin); err != nil || got != Glibc {
		t.Errorf("Rust +crt-static gnu binary: %q, %v", got, err)
	}
}

// musl binaries from zig (the kit's cross toolchain), both architectures.
func TestLibcOfMusl(t *testing.T) {
	zig := testinfra.Zig(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "m.c")
	fixtures.WriteFile(t, dir, "m.c", "#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}\n")
	for _, c := range []struct{ target, platform string }{{"x86_64-linux-musl", "linux/amd64"}, {"aarch64-linux-musl", "linux/arm64"}} {
		// One link per target, with the flags of the helper's zig test so
		// both share zig's cache: another flag set can make zig build its
		// libc again (minutes per target here).
		{
			out := filepath.Join(dir, c.target)
			args := []string{"cc", "-target", c.target, "-O2", src, "-o", out}
			if b, err := exec.Command(zig, args...).CombinedOutput(); err != nil {
				t.Fatalf("zig %v: %v %s", args, err, b)
			}
			res, err := VerifyLibc(out, mustPlatform(t, c.platform), Musl)
			if err != nil || res.Libc != Musl {
				t.Errorf("%s: %+v %v", c.target, res, err)
			}
			_, err = VerifyLibc(out, mustPlatform(t, c.platform), Glibc)
			if err == nil || !strings.Contains(err.Error(), "is a static musl binary, expected glibc") {
				t.Errorf("%s: glibc asked: %v", c.target, err)
			}
		}
	}
}

func TestParseLibc(t *testing.T) {
	for in, want := range map[string]Libc{"": "", "musl": Musl, "gnu": Glibc, "glibc": Glibc} {
		if got, err := ParseLibc(in); err != nil || got != want {
			t.Errorf("ParseLibc(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseLibc("uclibc"); err == nil {
		t.Error("uclibc accepted")
	}
}

// detectLibcFile names the C library linked into the ELF file at path.
func detectLibcFile(path string) (Libc, error) {
	ef, ev, err := inspectFile(path)
	if err != nil {
		return "", err
	}
	return detectLibc(ef, ev), nil
}
