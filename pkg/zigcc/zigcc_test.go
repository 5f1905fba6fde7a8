package zigcc

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestZigTarget(t *testing.T) {
	for triple, want := range map[string]string{
		"x86_64-unknown-linux-musl":      "x86_64-linux-musl",
		"aarch64-unknown-linux-musl":     "aarch64-linux-musl",
		"i686-unknown-linux-musl":        "x86-linux-musl",
		"armv7-unknown-linux-musleabihf": "arm-linux-musleabihf",
		"riscv64gc-unknown-linux-musl":   "riscv64-linux-musl",
	} {
		got, err := ZigTarget(triple)
		if err != nil || got != want {
			t.Errorf("ZigTarget(%q) = %q, %v; want %q", triple, got, err, want)
		}
	}
	for triple, msg := range map[string]string{
		"x86_64-unknown-linux-gnu":    "only builds for musl",
		"aarch64-linux-musl":          "not a <arch>-<vendor>-linux-musl",
		"mips64-unknown-linux-musl":   `no zig target for architecture "mips64"`,
		"x86_64-unknown-freebsd-musl": "not a <arch>-<vendor>-linux-musl",
	} {
		_, err := ZigTarget(triple)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ZigTarget(%q) error = %v, want it to say %q", triple, err, msg)
		}
	}
}

func TestLinkNames(t *testing.T) {
	for _, tool := range []Tool{CC, CXX, AR} {
		n := LinkName(tool, "aarch64-unknown-linux-musl")
		gt, gtr, ok := FromLinkName(n)
		if !ok || gt != tool || gtr != "aarch64-unknown-linux-musl" {
			t.Errorf("%s: FromLinkName(%q) = %q %q %v", tool, n, gt, gtr, ok)
		}
	}
	if n := LinkName(CC, "x86_64-unknown-linux-musl"); n != "zigcc-x86_64-unknown-linux-musl" {
		t.Errorf("LinkName = %q", n)
	}
	for _, n := range []string{"muslrust-chef", "zigcc-", "cc", "zig"} {
		if _, _, ok := FromLinkName(n); ok {
			t.Errorf("FromLinkName(%q) matched", n)
		}
	}
}

func TestParseTool(t *testing.T) {
	for in, want := range map[string]Tool{"cc": CC, "c++": CXX, "cxx": CXX, "ar": AR} {
		if got, err := ParseTool(in); err != nil || got != want {
			t.Errorf("ParseTool(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseTool("ld"); err == nil {
		t.Error("ParseTool(ld) accepted")
	}
}

func TestIsLink(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"-O2", "-c", "foo.c", "-o", "foo.o"}, false},
		{[]string{"-E", "probe.c"}, false},
		{[]string{"-S", "x.c"}, false},
		{[]string{"--version"}, false},
		{[]string{"-o", "out"}, false}, // -o's value is not an input
		{[]string{"hello.c", "-o", "hello"}, true},
		{[]string{"-m64", "/tmp/rustc/symbols.o", "main.main.0.rcgu.o", "-Wl,--as-needed", "-L", "/x", "-o", "/t/app", "-nodefaultlibs"}, true},
		{[]string{"-I", "inc", "-x", "c", "-"}, true},
	} {
		if got := IsLink(c.args); got != c.want {
			t.Errorf("IsLink(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

func TestCompilerArgsCompile(t *testing.T) {
	// What the cc crate runs for a clang-like compiler.
	in := []string{"-O3", "-ffunction-sections", "-fdata-sections", "-fPIC", "--target=aarch64-unknown-linux-musl", "-Wall", "-I", "src", "-o", "out/foo.o", "-c", "src/foo.c"}
	got, err := CompilerArgs(CC, "aarch64-unknown-linux-musl", in, "/tmp/lfs64.c")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cc", "-target", "aarch64-linux-musl", "-O3", "-ffunction-sections", "-fdata-sections", "-fPIC", "-Wall", "-I", "src", "-o", "out/foo.o", "-c", "src/foo.c"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CompilerArgs =\n %q\nwant\n %q", got, want)
	}
}

func TestCompilerArgsLink(t *testing.T) {
	// A rustc link line (abridged) with the flags zig refuses.
	sc := "/opt/rust/lib/rustlib/x86_64-unknown-linux-musl/lib/self-contained"
	in := []string{sc + "/rcrt1.o", sc + "/crti.o", sc + "/crtbeginS.o", "-L", sc, "-L" + sc, "-m64", "/tmp/rustcX/symbols.o", "app.app.1.rcgu.o", "-Wl,--as-needed", "-Wl,--defsym=__foo=__bar,--gc-sections",
		"-Wl,--defsym,a=b", "-Xlinker", "--defsym", "-Xlinker", "c=d", "-Xlinker", "--defsym=e=f",
		"-target", "x86_64-unknown-linux-musl", "-lgcc_s", "-lgcc_eh", "-lc", "-o", "/t/app", "-nodefaultlibs", "-static-pie", sc + "/crtendS.o", sc + "/crtn.o"}
	got, err := CompilerArgs(CC, "x86_64-unknown-linux-musl", in, "/tmp/lfs64.c")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cc", "-target", "x86_64-linux-musl", "-m64", "/tmp/rustcX/symbols.o", "app.app.1.rcgu.o", "-Wl,--as-needed", "-Wl,--gc-sections",
		"-lunwind", "-lunwind", "-lc", "-o", "/t/app", "-nodefaultlibs", "-static-pie", "/tmp/lfs64.c"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CompilerArgs =\n %q\nwant\n %q", got, want)
	}
	// A sysroot without a self-contained directory (std built from
	// rust-src): rustc names the start files bare, for the linker to find.
	got, err = CompilerArgs(CC, "x86_64-unknown-linux-musl", []string{"-m64", "rcrt1.o", "crti.o", "crtbeginS.o", "/tmp/rustcX/symbols.o",
		"/src/target/deps/app.rcgu.o", "-o", "/t/app", "-static-pie", "crtendS.o", "crtn.o"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cc", "-target", "x86_64-linux-musl", "-m64", "/tmp/rustcX/symbols.o", "/src/target/deps/app.rcgu.o", "-o", "/t/app", "-static-pie"}; !reflect.DeepEqual(got, want) {
		t.Errorf("bare start files: %q, want %q", got, want)
	}
	// C++ keeps the tool; no forwarders when none are given.
	got, err = CompilerArgs(CXX, "x86_64-unknown-linux-musl", []string{"a.o", "-o", "a"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"c++", "-target", "x86_64-linux-musl", "a.o", "-o", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("c++ link = %q, want %q", got, want)
	}
	if _, err := CompilerArgs(CC, "x86_64-unknown-linux-gnu", nil, ""); err == nil {
		t.Error("a glibc triple was accepted")
	}
	if _, err := CompilerArgs(AR, "x86_64-unknown-linux-musl", nil, ""); err == nil {
		t.Error("ar accepted as a compiler")
	}
}

func TestArArgs(t *testing.T) {
	got := ArArgs([]string{"cq", "libfoo.a", "a.o"})
	if want := []string{"ar", "cq", "libfoo.a", "a.o"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ArArgs = %q", got)
	}
}

func TestResponseFiles(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-Wl,--defsym=x=y", "with space", `back\slash`, `q"uote`, "", "-o", "out"}
	f, err := WriteResponseFile(dir, args)
	if err != nil {
		t.Fatal(err)
	}
	got, expanded, err := ExpandResponseFiles([]string{"-m64", "@" + f, "@not-a-file", "tail"})
	if err != nil {
		t.Fatal(err)
	}
	if !expanded {
		t.Error("expanded = false")
	}
	want := append(append([]string{"-m64"}, args...), "@not-a-file", "tail")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip =\n %q\nwant\n %q", got, want)
	}
	// rustc's own quoting: one argument per line, backslash escapes.
	rsp := filepath.Join(dir, "rustc.rsp")
	if err := os.WriteFile(rsp, []byte("-L\n/a\\ b\n'single quoted'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, err = ExpandResponseFiles([]string{"@" + rsp})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"-L", "/a b", "single quoted"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rustc rsp = %q, want %q", got, want)
	}
}

func TestWriteLFS64(t *testing.T) {
	dir := t.TempDir()
	p1, err := WriteLFS64(dir)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := WriteLFS64(dir)
	if err != nil || p1 != p2 {
		t.Fatalf("second write: %q %v, first %q", p2, err, p1)
	}
	b, err := os.ReadFile(p1)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"open64", "fstat64", "lseek64", "mmap64", "readdir64", "pread64", "fstatat64", "ftruncate64"} {
		if !regexp.MustCompile(`(?m)^WEAK [^(]*[ *]` + name + `\(`).Match(b) {
			t.Errorf("forwarders lack %s", name)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("leftover files: %v", ents)
	}
}
