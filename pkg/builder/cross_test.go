package builder

import (
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

func TestParseCrossDeclaration(t *testing.T) {
	d, err := parseCross(map[string]string{
		LabelCross:      "linux/arm64, linux/amd64",
		LabelCrossCargo: "zigbuild",
		"io.muslrust-chef.cross.aarch64-unknown-linux-musl.cc":        "zig cc -target aarch64-linux-musl",
		"io.muslrust-chef.cross.aarch64-unknown-linux-musl.cflags":    "-mno-outline-atomics",
		"io.muslrust-chef.cross.aarch64-unknown-linux-musl.rustflags": "-C target-feature=+lse",
		"io.muslrust-chef.cross.aarch64-unknown-linux-musl.future":    "ignored",
		"io.muslrust-chef.libc": "musl",
	})
	if err != nil {
		t.Fatal(err)
	}
	tc := d.Triples["aarch64-unknown-linux-musl"]
	if platform.Join(d.Platforms) != "linux/amd64,linux/arm64" || d.Cargo != CargoZigbuild || len(d.Triples) != 1 ||
		tc.CC != "zig cc -target aarch64-linux-musl" || tc.CFlags != "-mno-outline-atomics" || tc.RustFlags != "-C target-feature=+lse" {
		t.Fatalf("parsed %+v", d)
	}
	for labels, want := range map[[2]string]string{
		{LabelCross, "linux/s390x"}:     `label io.muslrust-chef.cross="linux/s390x": unsupported platform "linux/s390x"`,
		{LabelCrossCargo, "xbuild"}:     `label io.muslrust-chef.cross.cargo="xbuild": use build or zigbuild`,
		{"io.muslrust-chef.other", "x"}: "",
	} {
		_, err := parseCross(map[string]string{labels[0]: labels[1]})
		if (want == "" && err != nil) || (want != "" && (err == nil || !strings.HasPrefix(err.Error(), want))) {
			t.Errorf("%v: error %v, want %q", labels, err, want)
		}
	}
}

func TestToolchainEnv(t *testing.T) {
	tc := Toolchain{Linker: "l", CC: "c", CXX: "x", AR: "a", CFlags: "-f"}
	got := strings.Join(tc.Env("aarch64-unknown-linux-musl"), " ")
	want := "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=l CC_aarch64_unknown_linux_musl=c CXX_aarch64_unknown_linux_musl=x AR_aarch64_unknown_linux_musl=a CFLAGS_aarch64_unknown_linux_musl=-f"
	if got != want {
		t.Fatalf("env %s\nwant %s", got, want)
	}
	if env := (Toolchain{}).Env("x86_64-unknown-linux-musl"); len(env) != 0 {
		t.Fatalf("empty toolchain exports %v", env)
	}
}

func TestZigCache(t *testing.T) {
	for env, want := range map[string]string{
		"ZIG_GLOBAL_CACHE_DIR=/opt/zig-cache": "/opt/zig-cache", "ZIG_GLOBAL_CACHE_DIR=/opt/zig-cache/": "/opt/zig-cache",
		"ZIG_GLOBAL_CACHE_DIR=relative": "", "ZIG_GLOBAL_CACHE_DIR=/": "", "ZIG_GLOBAL_CACHE_DIR=/a,b": "", "ZIG_GLOBAL_CACHE_DIR=/a$b": "",
		"ZIG_GLOBAL_CACHE_DIR=": "", "OTHER=/x": "",
	} {
		if got := zigCache([]string{"PATH=/bin", env}); got != want {
			t.Errorf("%s: %q, want %q", env, got, want)
		}
	}
}
