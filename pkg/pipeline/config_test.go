package pipeline

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// twoBins is a workspace with two binaries in two members and metadata.
func twoBins(t *testing.T) string {
	ws := t.TempDir()
	fixtures.WriteFile(t, ws, "Cargo.toml", `[workspace]
members = ["a", "b"]
[workspace.metadata.muslrust-chef]
image = "registry.example/ws"
platforms = ["linux/arm64"]
profile = "dist"
`)
	fixtures.WriteFile(t, ws, "a/Cargo.toml", "[package]\nname = \"pa\"\nversion = \"0.1.0\"\n[[bin]]\nname = \"alpha\"\npath = \"src/main.rs\"\n")
	fixtures.WriteFile(t, ws, "a/src/main.rs", "fn main() {}\n")
	fixtures.WriteFile(t, ws, "b/Cargo.toml", "[package]\nname = \"pb\"\nversion = \"0.1.0\"\n[package.metadata.muslrust-chef]\nimage = \"registry.example/beta\"\nfeatures = [\"x\", \"y\"]\nstrategy = \"cross\"\n")
	fixtures.WriteFile(t, ws, "b/src/main.rs", "fn main() {}\n")
	fixtures.WriteFile(t, ws, "Cargo.lock", "version = 3\n")
	return ws
}

func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "MUSLRUST_CHEF_") {
			t.Setenv(k, "")
		}
	}
}

func TestResolveBinAndPrecedence(t *testing.T) {
	clearEnv(t)
	ws := twoBins(t)
	_, err := Resolve(Settings{Workspace: str(ws)})
	if err == nil || err.Error() != "the workspace has 2 binaries (alpha, pb): choose one with -bin or MUSLRUST_CHEF_BIN" {
		t.Fatalf("no bin given: %v", err)
	}
	_, err = Resolve(Settings{Workspace: str(ws), Bin: str("gamma")})
	if err == nil || err.Error() != `bin "gamma" not found; known bins: alpha, pb` {
		t.Fatalf("unknown bin: %v", err)
	}

	// Package metadata over workspace metadata over defaults.
	c, err := Resolve(Settings{Workspace: str(ws), Bin: str("pb")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Package != "pb" || c.Image != "registry.example/beta" || c.Profile != "dist" ||
		platform.Join(c.Platforms) != "linux/arm64" || strings.Join(c.Features, ",") != "x,y" ||
		!c.Locked || !c.Strip || c.Strategy != StrategyCross || c.StrategyFrom != "strategy in [package.metadata.muslrust-chef]" || c.Builder != "" || c.BuilderArgs["CARGO_CHEF_VERSION"] != "" {
		t.Fatalf("metadata: %+v", c)
	}
	// Environment over metadata, flag over environment.
	t.Setenv("MUSLRUST_CHEF_PROFILE", "release")
	t.Setenv("MUSLRUST_CHEF_PLATFORMS", "amd64")
	t.Setenv("MUSLRUST_CHEF_STRIP", "false")
	t.Setenv("MUSLRUST_CHEF_LIBC", "gnu")
	c, err = Resolve(Settings{Workspace: str(ws), Bin: str("alpha"), Platforms: str("linux/arm64,linux/amd64")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Package != "pa" || c.Image != "registry.example/ws" || c.Profile != "release" || c.Strip ||
		platform.Join(c.Platforms) != "linux/amd64,linux/arm64" || c.Libc != "gnu" {
		t.Fatalf("env and flags: %+v", c)
	}
	if f := c.Flags(c.Platforms[1], "musl", "-C x"); f.Triple != "aarch64-unknown-linux-gnu" || f.RustFlags != "-C x" || f.Package != "pa" || f.Bin != "alpha" {
		t.Fatalf("flags: %+v", f)
	}

	_, err = Resolve(Settings{Workspace: str(ws), Bin: str("alpha"), Platforms: str("amd64,arm64"), Strategy: str("split")})
	if err == nil || !strings.Contains(err.Error(), "split builds exactly one platform per run, got linux/amd64") {
		t.Fatalf("split with two platforms: %v", err)
	}
	// No metadata strategy for alpha: the default, auto.
	if c.Strategy != StrategyAuto || c.StrategyFrom != "the default" {
		t.Fatalf("default strategy %q from %q", c.Strategy, c.StrategyFrom)
	}
	_, err = Resolve(Settings{Workspace: str(ws), Bin: str("alpha"), Strategy: str("qemu")})
	if err == nil || !strings.Contains(err.Error(), `MUSLRUST_CHEF_STRATEGY="qemu" (from -strategy) is unknown: use cross`) {
		t.Fatalf("unknown strategy: %v", err)
	}
	t.Setenv("MUSLRUST_CHEF_STRATEGY", "Emulate")
	if c, err = Resolve(Settings{Workspace: str(ws), Bin: str("pb")}); err != nil || c.Strategy != StrategyEmulate || c.StrategyFrom != "MUSLRUST_CHEF_STRATEGY" {
		t.Fatalf("environment over metadata: %+v %v", c, err)
	}
}

// The snippet is real shell: evaluated by sh with a cargo that prints its
// arguments, it yields exactly Flags' arguments and environment.
func TestSnippetEvaluatesToTheFlags(t *testing.T) {
	sh := testinfra.Tool(t, "sh")
	f := cargo.Flags{Profile: "my-prof", Triple: "x86_64-unknown-linux-musl", TargetDir: "target", Features: []string{"a", "b"},
		Package: "app", Bin: "app", Locked: true, RustFlags: "-C target-feature=+crt-static -C link-arg='x y'", Strip: true}
	sn, err := snippet(f, []string{"app", "greet"}, "/src/ws")
	if err != nil {
		t.Fatal(err)
	}
	script := `cargo() { printf '<%s>' "$@"; echo; }; eval "$1"; muslrust_chef_cargo_build; muslrust_chef_cargo_clean; ` +
		`printf '%s\n' "$RUSTFLAGS" "$CARGO_PROFILE_MY_PROF_STRIP" "$muslrust_chef_bin_path"`
	out, err := exec.Command(sh, "-c", script, "sh", sn).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wrap := func(args []string) string { return "<" + strings.Join(args, "><") + ">" }
	want := strings.Join([]string{wrap(f.BuildArgs()), wrap(f.CleanArgs([]string{"app", "greet"})), f.RustFlags, "symbols",
		"/src/ws/target/x86_64-unknown-linux-musl/my-prof/app", ""}, "\n")
	if string(out) != want {
		t.Fatalf("sh printed\n%s\nwant\n%s", out, want)
	}
}

// Values outside Cargo's grammar are refused by Resolve, with one line,
// before the builder image is read or BuildKit contacted.
func TestResolveRefusesShellText(t *testing.T) {
	clearEnv(t)
	ws := twoBins(t)
	for _, c := range []struct {
		env, val, bin, want string
	}{
		{"MUSLRUST_CHEF_FEATURES", "loud,$(touch x)", "pb", `feature "$(touch x)" is not a valid cargo feature: use a name of letters, digits, _, -, + and ., or package/feature, or dep:package, and separate features with commas`},
		{"MUSLRUST_CHEF_PROFILE", "dist;touch /x", "pb", `profile "dist;touch /x" is not a valid cargo profile name: use letters, digits, - and _`},
		{"MUSLRUST_CHEF_BIN", "pb;id", "", `binary "pb;id" is not a valid cargo binary name: use letters, digits, - and _`},
		{"MUSLRUST_CHEF_RUSTFLAGS", "-C x\n-C y", "pb", `MUSLRUST_CHEF_RUSTFLAGS "-C x\n-C y" holds a control character at byte 4: remove it`},
	} {
		t.Run(c.env, func(t *testing.T) {
			t.Setenv(c.env, c.val)
			s := Settings{Workspace: str(ws)}
			if c.bin != "" {
				s.Bin = str(c.bin)
			}
			_, err := Resolve(s)
			if err == nil || err.Error() != c.want {
				t.Fatalf("%s=%q: error %v, want %q", c.env, c.val, err, c.want)
			}
		})
	}
	t.Setenv("MUSLRUST_CHEF_FEATURES", "x,pa/y,dep:z")
	if _, err := Resolve(Settings{Workspace: str(ws), Bin: str("pb")}); err != nil {
		t.Fatalf("valid features refused: %v", err)
	}
}

// A package name from the workspace reaches cargo clean -p: one outside
// Cargo's grammar is refused while resolving.
func TestResolveRefusesBadPackageName(t *testing.T) {
	clearEnv(t)
	ws := t.TempDir()
	fixtures.WriteFile(t, ws, "Cargo.toml", "[package]\nname = \"app;id\"\nversion = \"0.1.0\"\n")
	fixtures.WriteFile(t, ws, "src/main.rs", "fn main() {}\n")
	fixtures.WriteFile(t, ws, "Cargo.lock", "version = 3\n")
	_, err := Resolve(Settings{Workspace: str(ws)})
	if err == nil || err.Error() != `Cargo.toml: package "app;id" is not a valid cargo package name: use letters, digits, - and _` {
		t.Fatalf("error %v", err)
	}
}
