package pipeline

import (
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// The cross snippet is real shell (dash here): with a cargo that prints its
// arguments and the variables it sees, one cargo builds both triples, each
// triple's RUSTFLAGS reach it only through its own
// CARGO_TARGET_<TRIPLE>_RUSTFLAGS (the gnu triple's +crt-static must not
// reach the musl one, nor the reverse), an inherited RUSTFLAGS or
// CARGO_ENCODED_RUSTFLAGS (which cargo would apply to both) is gone, each
// triple has its own toolchain, nothing leaks out of the cargo calls, and a
// declared tool missing from PATH stops it with the message.
func TestCrossSnippetEvaluates(t *testing.T) {
	sh := testinfra.Tool(t, "sh")
	bin := t.TempDir()
	for _, tool := range []string{"aarch64-linux-gnu-gcc", "aarch64-linux-gnu-ar"} {
		if err := os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := func(triple, rustflags string) cargo.Flags {
		return cargo.Flags{Profile: "release", Triple: triple, TargetDir: "target", Package: "app", Bin: "app", Locked: true,
			RustFlags: rustflags, Strip: true}
	}
	targets := []Target{
		{Platform: amd64(), Flags: f("x86_64-unknown-linux-gnu", "-C target-feature=+crt-static")},
		{Platform: arm64(), Flags: f("aarch64-unknown-linux-musl", "-C link-self-contained=no"), Toolchain: builder.Toolchain{Linker: "aarch64-linux-gnu-gcc", CC: "aarch64-linux-gnu-gcc", AR: "aarch64-linux-gnu-ar"}},
	}
	sn, err := crossSnippet(targets, []string{"app"}, "/src", "/out")
	if err != nil {
		t.Fatal(err)
	}
	script := `cargo() { printf '<%s>' "$@"; echo " CC=${CC_aarch64_unknown_linux_musl:-} amd64=${CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS-unset}` +
		` arm64=${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS-unset} RUSTFLAGS=${RUSTFLAGS-unset} ENCODED=${CARGO_ENCODED_RUSTFLAGS-unset}"; }; ` +
		`mkdir() { echo "mkdir $*"; }; cp() { echo "cp $*"; }; rustup() { echo "rustup $*"; }; ` +
		`eval "$1"; echo "multi=${muslrust_chef_multi_target-}"; muslrust_chef_check_tools; muslrust_chef_rustup_targets; muslrust_chef_cargo_build; muslrust_chef_cargo_clean; muslrust_chef_copy_out; ` +
		`echo "after: ${CC_aarch64_unknown_linux_musl:-unset} ${CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS:-unset} $RUSTFLAGS"`
	cmd := exec.Command(sh, "-c", script, "sh", sn)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "RUSTFLAGS=-C inherited", "CARGO_ENCODED_RUSTFLAGS=-Cinherited")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wrap := func(args []string) string { return "<" + strings.Join(args, "><") + ">" }
	sel := []string{"--profile", "release", "--target", "x86_64-unknown-linux-gnu", "--target", "aarch64-unknown-linux-musl", "--target-dir", "target"}
	seen := " CC=aarch64-linux-gnu-gcc amd64=-C target-feature=+crt-static arm64=-C link-self-contained=no RUSTFLAGS=unset ENCODED=unset"
	want := strings.Join([]string{
		"multi=true",
		"rustup target add x86_64-unknown-linux-gnu aarch64-unknown-linux-musl",
		wrap(append(append([]string{"build"}, sel...), "--package", "app", "--bin", "app", "--locked")) + seen,
		wrap(append([]string{"clean", "-p", "app"}, sel...)) + seen,
		"mkdir -p /out/linux_amd64", "cp /src/target/x86_64-unknown-linux-gnu/release/app /out/linux_amd64/",
		"mkdir -p /out/linux_arm64", "cp /src/target/aarch64-unknown-linux-musl/release/app /out/linux_arm64/",
		"after: unset unset -C inherited", ""}, "\n")
	if string(out) != want {
		t.Fatalf("sh printed\n%s\nwant\n%s", out, want)
	}

	// zigbuild: one cargo zigbuild per triple, each in its own subshell
	// with RUSTFLAGS set to its own flags.
	zig := append([]Target(nil), targets...)
	for i := range zig {
		zig[i].Toolchain.Cargo = builder.CargoZigbuild
	}
	sn, err = crossSnippet(zig, []string{"app"}, "/src", "/out")
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(sh, "-c", script, "sh", sn)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "RUSTFLAGS=-C inherited", "CARGO_ENCODED_RUSTFLAGS=-Cinherited")
	if out, err = cmd.CombinedOutput(); err == nil {
		t.Fatalf("zigbuild without zig in PATH passed the tool check: %s", out)
	}
	for _, tool := range []string{"zig", "cargo-zigbuild"} {
		if err := os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd = exec.Command(sh, "-c", script, "sh", sn)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "RUSTFLAGS=-C inherited", "CARGO_ENCODED_RUSTFLAGS=-Cinherited")
	if out, err = cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	one := func(tg Target, args []string, cc string) string {
		return wrap(args) + " CC=" + cc + " amd64=unset arm64=unset RUSTFLAGS=" + tg.Flags.RustFlags + " ENCODED=unset"
	}
	want = strings.Join([]string{
		"multi=",
		"rustup target add x86_64-unknown-linux-gnu aarch64-unknown-linux-musl",
		one(zig[0], crossArgs(zig[0]), ""), one(zig[1], crossArgs(zig[1]), "aarch64-linux-gnu-gcc"),
		one(zig[0], zig[0].Flags.CleanArgs([]string{"app"}), ""), one(zig[1], zig[1].Flags.CleanArgs([]string{"app"}), "aarch64-linux-gnu-gcc"),
		"mkdir -p /out/linux_amd64", "cp /src/target/x86_64-unknown-linux-gnu/release/app /out/linux_amd64/",
		"mkdir -p /out/linux_arm64", "cp /src/target/aarch64-unknown-linux-musl/release/app /out/linux_arm64/",
		"after: unset unset -C inherited", ""}, "\n")
	if string(out) != want {
		t.Fatalf("zigbuild: sh printed\n%s\nwant\n%s", out, want)
	}
	if !strings.Contains(sn, "cargo 'zigbuild' '--profile'") {
		t.Fatalf("zigbuild snippet: %s", sn)
	}
	for _, tool := range []string{"zig", "cargo-zigbuild"} {
		if err := os.Remove(filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	targets[1].Flags.Triple = "aarch64-unknown-linux-gnu"

	// A declared compiler that is not there; zigbuild needs zig.
	targets[1].Toolchain.CC = "aarch64-linux-musl-gcc"
	targets[1].Toolchain.Cargo = builder.CargoZigbuild
	sn, err = crossSnippet(targets, nil, "/src", "/out")
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(sh, "-c", `eval "$1"; muslrust_chef_check_tools; echo unreachable`, "sh", sn)
	cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin")
	out, err = cmd.CombinedOutput()
	if err == nil || strings.TrimSpace(string(out)) != "muslrust-chef: CC_aarch64_unknown_linux_gnu=aarch64-linux-musl-gcc needs aarch64-linux-musl-gcc, which is not in the builder image (declared by its label io.muslrust-chef.cross.aarch64-unknown-linux-gnu.cc): install it in the builder image or fix the label" {
		t.Fatalf("missing compiler: %v: %s", err, out)
	}
	if !strings.Contains(sn, "cargo 'zigbuild' '--profile'") || !strings.Contains(sn, "command -v 'zig'") {
		t.Fatalf("zigbuild snippet: %s", sn)
	}
}

func TestBuildPlatform(t *testing.T) {
	for _, c := range []struct {
		workers []string
		host    platform.Platform
		want    string
	}{
		{[]string{"linux/386", "linux/amd64", "linux/arm64"}, amd64(), "linux/amd64"},
		{[]string{"linux/amd64", "linux/arm64"}, arm64(), "linux/arm64"},
		{[]string{"linux/arm64", "linux/riscv64"}, amd64(), "linux/arm64"}, // a remote arm64 builder
		{[]string{"linux/amd64", "linux/arm64"}, platform.Platform{}, ""},
	} {
		p, ok := buildPlatform(c.workers, c.host)
		if (c.want == "") == ok || (ok && p.String() != c.want) {
			t.Errorf("buildPlatform(%v, %v) = %v, %t; want %q", c.workers, c.host, p, ok, c.want)
		}
	}
}

// The default strategy follows the build platform image's declaration;
// an explicit choice is checked against the builder.
func TestChooseStrategy(t *testing.T) {
	both := []platform.Platform{amd64(), arm64()}
	b := &builder.Builder{Ref: "r/b:1", Have: []string{"linux/amd64", "linux/arm64"},
		Libc:  map[platform.Platform]string{amd64(): "gnu", arm64(): "gnu"},
		Cross: map[platform.Platform]builder.CrossDecl{amd64(): {Platforms: both}, arm64(): {}}}
	b.Platforms = map[platform.Platform]bool{amd64(): true, arm64(): true}
	amdOnly := &builder.Builder{Ref: "r/a:1", Have: []string{"linux/amd64"}, Libc: b.Libc,
		Cross: map[platform.Platform]builder.CrossDecl{amd64(): {Platforms: both}}, Platforms: map[platform.Platform]bool{amd64(): true}}
	cfg := func(strategy string, ps ...platform.Platform) *Config {
		return &Config{Spec: buildspec.Spec{Strategy: strategy, StrategyFrom: "MUSLRUST_CHEF_STRATEGY", Platforms: ps}}
	}
	for _, c := range []struct {
		name    string
		c       *Config
		b       *builder.Builder
		bp      platform.Platform
		want    string
		wantErr string
	}{
		{"auto, declared", cfg(StrategyAuto, both...), b, amd64(), StrategyCross, ""},
		{"auto, arm64 build platform declares nothing", cfg(StrategyAuto, both...), b, arm64(), StrategyEmulate, ""},
		{"auto, only the build platform's image", cfg(StrategyAuto, both...), amdOnly, amd64(), StrategyCross, ""},
		{"emulate needs every image", cfg(StrategyEmulate, both...), amdOnly, amd64(), "", "builder image r/a:1 has no linux/arm64 image (it has linux/amd64)"},
		{"cross refused", cfg(StrategyCross, both...), b, arm64(), "", "MUSLRUST_CHEF_STRATEGY=cross: builder image r/b:1 (linux/arm64) declares no cross-compilation (label io.muslrust-chef.cross is absent): use MUSLRUST_CHEF_STRATEGY=emulate, or a builder image that declares cross-compilation to linux/amd64,linux/arm64"},
		{"auto falls back, then needs every image", cfg(StrategyAuto, both...), &builder.Builder{Ref: "r/c:1", Have: []string{"linux/amd64"}, Libc: b.Libc, Cross: map[platform.Platform]builder.CrossDecl{amd64(): {Platforms: []platform.Platform{amd64()}}}, Platforms: map[platform.Platform]bool{amd64(): true}}, amd64(), "", "builder image r/c:1 has no linux/arm64 image"},
	} {
		got, _, why, err := chooseStrategy(c.c, c.b, c.bp, true, nil)
		if c.wantErr != "" {
			if err == nil || !strings.HasPrefix(config.Explain(err), c.wantErr) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want || why == "" {
			t.Errorf("%s: %q (%s), %v; want %q", c.name, got, why, err, c.want)
		}
	}
	// A libc override the declaration does not cover.
	c := cfg(StrategyCross, both...)
	c.Libc = "musl"
	if _, _, _, err := chooseStrategy(c, b, amd64(), true, nil); err == nil || !strings.Contains(config.Explain(err), "cross-compiles for libc gnu, but MUSLRUST_CHEF_LIBC=musl") {
		t.Errorf("libc override: %v", err)
	}
	// auto falls back to emulate and says why, naming the knob in the log.
	c = cfg(StrategyAuto, both...)
	c.Libc = "musl"
	if got, _, why, err := chooseStrategy(c, b, amd64(), true, config.KnobName); err != nil || got != StrategyEmulate || !strings.Contains(why, "cross-compiles for libc gnu, but MUSLRUST_CHEF_LIBC=musl") {
		t.Errorf("auto with a libc override: %q (%s), %v", got, why, err)
	}
	if _, _, _, err := chooseStrategy(cfg(StrategyCross, both...), b, platform.Platform{}, false, nil); err == nil || !strings.Contains(err.Error(), "cannot tell which platform BuildKit builds on") {
		t.Errorf("unknown build platform: %v", err)
	}
}

// The log says what crossSnippet runs: one cargo with every --target and
// each triple's RUSTFLAGS under its own name, or one cargo per triple with
// cargo-zigbuild.
func TestCrossCommandsLogWhatRuns(t *testing.T) {
	f := func(triple, rustflags string) cargo.Flags {
		return cargo.Flags{Profile: "release", Triple: triple, TargetDir: "target", Package: "app", Bin: "app", RustFlags: rustflags}
	}
	targets := []Target{
		{Platform: amd64(), Flags: f("x86_64-unknown-linux-musl", "-C a")},
		{Platform: arm64(), Flags: f("aarch64-unknown-linux-musl", "-C b"), Toolchain: builder.Toolchain{CC: "zcc"}},
	}
	got := crossCommands(targets)
	if len(got) != 1 {
		t.Fatalf("one cargo for both triples, logged as %d lines: %q", len(got), got)
	}
	for _, want := range []string{"linux/amd64,linux/arm64: cargo build ", "--target x86_64-unknown-linux-musl --target aarch64-unknown-linux-musl",
		"CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS=-C a", "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS=-C b", "CC_aarch64_unknown_linux_musl=zcc"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("log line %q lacks %q", got[0], want)
		}
	}
	targets[1].Toolchain.Cargo = builder.CargoZigbuild
	got = crossCommands(targets)
	if len(got) != 2 || !strings.HasPrefix(got[0], "linux/amd64: cargo build ") || !strings.HasPrefix(got[1], "linux/arm64: cargo zigbuild ") {
		t.Errorf("zigbuild runs one cargo per triple, logged as %q", got)
	}
}
