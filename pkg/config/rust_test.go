package config

import (
	"os"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

func str(s string) *string { return &s }

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
	_, err := Rust(RustArgs{Workspace: str(ws)})
	if err == nil || err.Error() != "the workspace has 2 binaries (alpha, pb): choose one with -bin or MUSLRUST_CHEF_BIN" {
		t.Fatalf("no bin given: %v", err)
	}
	_, err = Rust(RustArgs{Workspace: str(ws), Bin: str("gamma")})
	if err == nil || err.Error() != `bin "gamma" not found; known bins: alpha, pb` {
		t.Fatalf("unknown bin: %v", err)
	}

	// Package metadata over workspace metadata over defaults.
	c, err := Rust(RustArgs{Workspace: str(ws), Bin: str("pb")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Package != "pb" || c.Image != "registry.example/beta" || c.Profile != "dist" ||
		platform.Join(c.Platforms) != "linux/arm64" || strings.Join(c.Features, ",") != "x,y" ||
		!c.Locked || !c.Strip || c.Strategy != strategyCross || c.StrategyFrom != "strategy in [package.metadata.muslrust-chef]" || c.Builder != "" || c.BuilderArgs["MUSLRUST_IMAGE"] != "" {
		t.Fatalf("metadata: %+v", c)
	}
	// Environment over metadata, flag over environment.
	t.Setenv("MUSLRUST_CHEF_PROFILE", "release")
	t.Setenv("MUSLRUST_CHEF_PLATFORMS", "amd64")
	t.Setenv("MUSLRUST_CHEF_STRIP", "false")
	t.Setenv("MUSLRUST_CHEF_LIBC", "gnu")
	c, err = Rust(RustArgs{Workspace: str(ws), Bin: str("alpha"), Platforms: str("linux/arm64,linux/amd64")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Package != "pa" || c.Image != "registry.example/ws" || c.Profile != "release" || c.Strip ||
		platform.Join(c.Platforms) != "linux/amd64,linux/arm64" || c.Libc != "gnu" {
		t.Fatalf("env and flags: %+v", c)
	}

	// split with two platforms spreads them over BuildKit nodes: whether
	// there are nodes is the pipeline's to check, once it connects.
	if sp, err := Rust(RustArgs{Workspace: str(ws), Bin: str("alpha"), Platforms: str("amd64,arm64"), Strategy: str("split")}); err != nil || sp.Strategy != strategySplit || len(sp.Platforms) != 2 {
		t.Fatalf("split with two platforms: %+v, %v", sp, err)
	}
	// No metadata strategy for alpha: the default, auto.
	if c.Strategy != strategyAuto || c.StrategyFrom != "the default" {
		t.Fatalf("default strategy %q from %q", c.Strategy, c.StrategyFrom)
	}
	_, err = Rust(RustArgs{Workspace: str(ws), Bin: str("alpha"), Strategy: str("qemu")})
	if err == nil || !strings.Contains(err.Error(), `MUSLRUST_CHEF_STRATEGY="qemu" (from -strategy) is unknown: use cross`) {
		t.Fatalf("unknown strategy: %v", err)
	}
	t.Setenv("MUSLRUST_CHEF_STRATEGY", "Emulate")
	if c, err = Rust(RustArgs{Workspace: str(ws), Bin: str("pb")}); err != nil || c.Strategy != strategyEmulate || c.StrategyFrom != "MUSLRUST_CHEF_STRATEGY" {
		t.Fatalf("environment over metadata: %+v %v", c, err)
	}
}

// A binary name outside Cargo's grammar is refused by Rust, with one
// line, before the workspace's binaries are looked up.
func TestResolveRefusesShellText(t *testing.T) {
	clearEnv(t)
	ws := twoBins(t)
	t.Setenv("MUSLRUST_CHEF_BIN", "pb;id")
	_, err := Rust(RustArgs{Workspace: str(ws)})
	if want := `binary "pb;id" is not a valid cargo binary name: use letters, digits, - and _`; err == nil || err.Error() != want {
		t.Fatalf("MUSLRUST_CHEF_BIN=%q: error %v, want %q", "pb;id", err, want)
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
	_, err := Rust(RustArgs{Workspace: str(ws)})
	if err == nil || err.Error() != `Cargo.toml: package "app;id" is not a valid cargo package name: use letters, digits, - and _` {
		t.Fatalf("error %v", err)
	}
}

// MUSLRUST_CHEF_REQUIRE_ALLOCATOR: unset requires nothing, mimalloc and
// jemalloc are typed for verify, anything else is refused before a build.
func TestResolveRequireAllocator(t *testing.T) {
	clearEnv(t)
	ws := twoBins(t)
	for env, want := range map[string]elfcheck.Allocator{"": "", "mimalloc": elfcheck.AllocMimalloc, "jemalloc": elfcheck.AllocJemalloc, " MiMalloc ": elfcheck.AllocMimalloc} {
		t.Setenv("MUSLRUST_CHEF_REQUIRE_ALLOCATOR", env)
		c, err := Rust(RustArgs{Workspace: str(ws), Bin: str("alpha")})
		if err != nil || c.RequireAllocator != want {
			t.Errorf("%q: %v, %v; want %q", env, c, err, want)
		}
	}
	for _, env := range []string{"musl", "tcmalloc"} {
		t.Setenv("MUSLRUST_CHEF_REQUIRE_ALLOCATOR", env)
		_, err := Rust(RustArgs{Workspace: str(ws), Bin: str("alpha")})
		want := `MUSLRUST_CHEF_REQUIRE_ALLOCATOR: unknown allocator "` + env + `": use mimalloc or jemalloc (or leave it unset to only warn)`
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", env, err, want)
		}
	}
}

// GitHub Actions' branch refs reach the build (its cache ref), read here
// rather than by the libraries.
func TestRustReadsGitHubRefs(t *testing.T) {
	clearEnv(t)
	ws := twoBins(t)
	t.Setenv("GITHUB_HEAD_REF", "feature/x")
	t.Setenv("GITHUB_REF", "refs/pull/7/merge")
	s, err := Rust(RustArgs{Workspace: str(ws), Bin: str("alpha")})
	if err != nil || s.GitHubHeadRef != "feature/x" || s.GitHubRef != "refs/pull/7/merge" {
		t.Fatalf("%q %q %v", s.GitHubHeadRef, s.GitHubRef, err)
	}
}

// -compare wins over MUSLRUST_CHEF_COMPARE; a value that is no image
// reference stops the run before BuildKit is contacted, naming the knob as
// it was set.
func TestResolveCompare(t *testing.T) {
	clearEnv(t)
	ws := twoBins(t)
	t.Setenv("MUSLRUST_CHEF_COMPARE", "registry.example/beta:1.0")
	s, err := Rust(RustArgs{Workspace: str(ws), Bin: str("alpha")})
	if err != nil || s.Compare != "registry.example/beta:1.0" {
		t.Fatalf("env: %q %v", s.Compare, err)
	}
	s, err = Rust(RustArgs{Workspace: str(ws), Bin: str("alpha"), Compare: str(" registry.example/beta@sha256:" + strings.Repeat("a", 64) + " ")})
	if err != nil || s.Compare != "registry.example/beta@sha256:"+strings.Repeat("a", 64) {
		t.Fatalf("flag: %q %v", s.Compare, err)
	}
	_, err = Rust(RustArgs{Workspace: str(ws), Bin: str("alpha"), Compare: str("Not A Ref")})
	if want := `-compare="Not A Ref" is not an image reference: give the repo:tag or repo@sha256:... of an image this kit pushed`; err == nil || err.Error() != want {
		t.Errorf("bad flag: %v, want %q", err, want)
	}
	t.Setenv("MUSLRUST_CHEF_COMPARE", "a:b:c")
	_, err = Rust(RustArgs{Workspace: str(ws), Bin: str("alpha")})
	if err == nil || !strings.HasPrefix(err.Error(), `MUSLRUST_CHEF_COMPARE="a:b:c" is not an image reference`) {
		t.Errorf("bad env: %v", err)
	}
}

// MUSLRUST_CHEF_SBOM and MUSLRUST_CHEF_REFERRERS: unset or true keeps the
// SBOM / attaches the records (the zero Spec does too), false turns them
// off, anything else is refused before a build.
func TestResolveRecordKnobs(t *testing.T) {
	clearEnv(t)
	ws := twoBins(t)
	for _, k := range []struct {
		env string
		off func(RustSettings) bool
	}{{"MUSLRUST_CHEF_SBOM", func(s RustSettings) bool { return s.NoSBOM }}, {"MUSLRUST_CHEF_REFERRERS", func(s RustSettings) bool { return s.NoReferrers }}} {
		for env, want := range map[string]bool{"": false, "true": false, "false": true, "0": true} {
			t.Setenv(k.env, env)
			s, err := Rust(RustArgs{Workspace: str(ws), Bin: str("alpha")})
			if err != nil || k.off(s) != want {
				t.Errorf("%s=%q: off %t, %v; want %t", k.env, env, k.off(s), err, want)
			}
		}
		t.Setenv(k.env, "sometimes")
		_, err := Rust(RustArgs{Workspace: str(ws), Bin: str("alpha")})
		if want := k.env + `="sometimes" is not a boolean: use true or false`; err == nil || err.Error() != want {
			t.Errorf("bad value: %v, want %q", err, want)
		}
		t.Setenv(k.env, "")
	}
}
