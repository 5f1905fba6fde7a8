package pipeline

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
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

// Flags takes the builder's libc and RUSTFLAGS unless configured.
func TestConfigFlags(t *testing.T) {
	clearEnv(t)
	ws := twoBins(t)
	t.Setenv("MUSLRUST_CHEF_LIBC", "gnu")
	c, _, err := resolve(Settings{Workspace: str(ws), Bin: str("alpha"), Platforms: str("linux/arm64,linux/amd64")})
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Flags(c.Platforms[1], "musl", "-C x"); f.Triple != "aarch64-unknown-linux-gnu" || f.RustFlags != "-C x" || f.Package != "pa" || f.Bin != "alpha" {
		t.Fatalf("flags: %+v", f)
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
func TestValidateRefusesShellText(t *testing.T) {
	clearEnv(t)
	ws := twoBins(t)
	for _, c := range []struct {
		env, val, bin, want string
	}{
		{"MUSLRUST_CHEF_FEATURES", "loud,$(touch x)", "pb", `feature "$(touch x)" is not a valid cargo feature: use a name of letters, digits, _, -, + and ., or package/feature, or dep:package, and separate features with commas`},
		{"MUSLRUST_CHEF_PROFILE", "dist;touch /x", "pb", `profile "dist;touch /x" is not a valid cargo profile name: use letters, digits, - and _`},
		{"MUSLRUST_CHEF_RUSTFLAGS", "-C x\n-C y", "pb", `MUSLRUST_CHEF_RUSTFLAGS "-C x\n-C y" holds a control character at byte 4: remove it`},
	} {
		t.Run(c.env, func(t *testing.T) {
			t.Setenv(c.env, c.val)
			s := Settings{Workspace: str(ws)}
			if c.bin != "" {
				s.Bin = str(c.bin)
			}
			cfg, _, err := resolve(s)
			if err == nil {
				err = cfg.validate()
			}
			if err == nil || config.Explain(err) != c.want {
				t.Fatalf("%s=%q: error %v, want %q", c.env, c.val, err, c.want)
			}
		})
	}
	t.Setenv("MUSLRUST_CHEF_FEATURES", "x,pa/y,dep:z")
	if cfg, _, err := resolve(Settings{Workspace: str(ws), Bin: str("pb")}); err != nil || cfg.validate() != nil {
		t.Fatalf("valid features refused: %v", err)
	}
}
