package sbom

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
)

const debianRegistry = "/usr/share/cargo/registry"

// The held-out style workspace: a renamed dependency (cf = cfg-if), an
// aarch64-only dependency (either), an optional dependency behind a
// feature (memchr via "fast"), a dev-dependency (scopeguard), a
// build-dependency (itoa) and a path member (helper, with Cargo's old
// "MIT/Apache-2.0" licence spelling).
var fixtureFiles = map[string]string{
	"Cargo.toml": `[workspace]
members = ["helper"]
resolver = "2"

[package]
name = "app"
version = "0.3.0"
edition = "2021"
license = "MIT OR Apache-2.0"

[[bin]]
name = "app-server"
path = "src/main.rs"

[dependencies]
cf = { package = "cfg-if", version = "1" }
helper = { path = "helper" }
memchr = { version = "2", optional = true }

[target.'cfg(target_arch = "aarch64")'.dependencies]
either = "1"

[features]
fast = ["dep:memchr"]

[dev-dependencies]
scopeguard = "1"

[build-dependencies]
itoa = "1"
`,
	"build.rs":    "fn main() { let mut b = itoa::Buffer::new(); println!(\"cargo:rustc-env=BUILD_N={}\", b.format(7)); }\n",
	"src/main.rs": "fn main() { println!(\"{}\", helper::name()); }\n",
	"helper/Cargo.toml": `[package]
name = "helper"
version = "0.1.0"
edition = "2021"
license = "MIT/Apache-2.0"
`,
	"helper/src/lib.rs": "pub fn name() -> &'static str { \"helper\" }\n",
}

type cargoEnv struct {
	cargo string
	env   []string
}

// newCargoEnv gives cargo a throwaway CARGO_HOME whose config replaces
// crates-io with Debian's crates, offline (these machines cannot reach the
// public registry).
func newCargoEnv(t *testing.T) *cargoEnv {
	t.Helper()
	c := &cargoEnv{cargo: testinfra.Tool(t, "cargo")}
	testinfra.Tool(t, "rustc")
	for _, crate := range []string{"itoa", "cfg-if", "memchr", "either", "scopeguard"} {
		if m, _ := filepath.Glob(filepath.Join(debianRegistry, crate+"-*")); len(m) == 0 {
			testinfra.Missing(t, "Debian crate "+crate+" in "+debianRegistry, "run: sudo scripts/provision.d/rust-crates.sh")
		}
	}
	home := t.TempDir()
	writeFile(t, filepath.Join(home, "config.toml"), "[source.crates-io]\nreplace-with = \"local\"\n\n[source.local]\ndirectory = \""+debianRegistry+"\"\n\n[net]\noffline = true\n")
	c.env = append(os.Environ(), "CARGO_HOME="+home, "CARGO_TERM_COLOR=never")
	if os.Getenv("RUSTUP_HOME") == "" {
		if h, err := os.UserHomeDir(); err == nil {
			c.env = append(c.env, "RUSTUP_HOME="+filepath.Join(h, ".rustup"))
		}
	}
	return c
}

func writeFile(t testing.TB, file, contents string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(contents), 0o644); err != nil {
		t.Fatal(err)
	}
}

// workspace writes the fixture and locks it with the real cargo.
func workspace(t *testing.T, c *cargoEnv) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ws")
	for name, body := range fixtureFiles {
		writeFile(t, filepath.Join(dir, name), body)
	}
	cmd := exec.Command(c.cargo, "generate-lockfile", "--offline")
	cmd.Dir = dir
	cmd.Env = c.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cargo generate-lockfile: %v\n%s", err, out)
	}
	return dir
}

// resolveFor runs the production path: cargo metadata and cargo tree with
// the build's flags, then Resolve.
func resolveFor(t *testing.T, c *cargoEnv, dir string, f cargo.Flags, opts ...Option) *SBOM {
	t.Helper()
	tree, err := Tree(context.Background(), c.cargo, dir, c.env, f)
	if err != nil {
		t.Fatal(err)
	}
	return resolveMetadataOnly(t, c, dir, f, append([]Option{WithCargoTree(tree)}, opts...)...)
}

// resolveMetadataOnly leaves cargo tree out.
func resolveMetadataOnly(t *testing.T, c *cargoEnv, dir string, f cargo.Flags, opts ...Option) *SBOM {
	t.Helper()
	md, err := Metadata(context.Background(), c.cargo, dir, c.env, f)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := os.ReadFile(filepath.Join(dir, "Cargo.lock"))
	if err != nil {
		t.Fatal(err)
	}
	opts = append(FromFlags(f), opts...)
	s, err := Resolve(md, lock, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func names(cs []Crate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}

func TestLinkedCratesFollowTripleAndFeatures(t *testing.T) {
	c := newCargoEnv(t)
	dir := workspace(t, c)
	const amd, arm = "x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"
	cases := []struct {
		name  string
		flags cargo.Flags
		want  []string
	}{
		{"amd64 default", cargo.Flags{Triple: amd, Package: "app", Locked: true}, []string{"cfg-if", "helper"}},
		{"arm64 default", cargo.Flags{Triple: arm, Package: "app", Locked: true}, []string{"cfg-if", "either", "helper"}},
		{"amd64 fast", cargo.Flags{Triple: amd, Package: "app", Features: []string{"fast"}, Locked: true}, []string{"cfg-if", "helper", "memchr"}},
		{"arm64 fast", cargo.Flags{Triple: arm, Package: "app", Features: []string{"fast"}, Locked: true}, []string{"cfg-if", "either", "helper", "memchr"}},
		{"amd64 all features", cargo.Flags{Triple: amd, Package: "app", AllFeatures: true, Locked: true}, []string{"cfg-if", "helper", "memchr"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := resolveFor(t, c, dir, tc.flags, WithBuildTools(true), WithSourceRevision("0123abc"))
			if got := names(s.Crates); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("linked crates = %v, want %v", got, tc.want)
			}
			// Here no sibling or dev-dependency enables a feature, so
			// cargo metadata alone is exact too.
			if got := names(resolveMetadataOnly(t, c, dir, tc.flags).Crates); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("linked crates from cargo metadata alone = %v, want %v", got, tc.want)
			}
			// Second opinion from cargo itself: cargo tree's normal edges
			// for the same package, triple and features.
			if got, tree := names(s.Crates), cargoTree(t, c, dir, tc.flags); strings.Join(got, ",") != strings.Join(tree, ",") {
				t.Errorf("linked crates = %v, cargo tree -e normal says %v", got, tree)
			}
			// The build-dependency is a build tool only; the
			// dev-dependency appears nowhere.
			if got := names(s.BuildTools); strings.Join(got, ",") != "itoa" {
				t.Errorf("build tools = %v, want [itoa]", got)
			}
			if s.Binary != "app-server" || s.Root.Name != "app" || s.Root.Version != "0.3.0" {
				t.Errorf("root = %s %s binary %s, want app 0.3.0 binary app-server", s.Root.Name, s.Root.Version, s.Binary)
			}
			for _, out := range []func(...RenderOption) ([]byte, error){s.CycloneDX, s.SPDX} {
				doc, err := out()
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(doc), "scopeguard") {
					t.Errorf("dev-dependency scopeguard appears in a document:\n%s", doc)
				}
				if strings.Contains(string(doc), dir) {
					t.Errorf("document holds the absolute workspace path %s", dir)
				}
			}
		})
	}

	// Without WithBuildTools the build-dependency is left out entirely.
	s := resolveFor(t, c, dir, cargo.Flags{Triple: amd, Package: "app", Locked: true})
	if s.BuildTools != nil || len(s.RootBuildTools) != 0 {
		t.Errorf("build tools listed without WithBuildTools: %v %v", names(s.BuildTools), s.RootBuildTools)
	}
}

// cargoTree lists the crates `cargo tree -e normal` shows below the
// package for the flags' triple and features (the fixture has no
// proc-macro, which cargo tree would list as a normal dependency).
func cargoTree(t *testing.T, c *cargoEnv, dir string, f cargo.Flags) []string {
	t.Helper()
	args := []string{"tree", "-e", "normal", "--target", f.Triple, "-p", f.Package, "--prefix", "none", "--format", "{p}"}
	if f.AllFeatures {
		args = append(args, "--all-features")
	}
	if f.NoDefaultFeatures {
		args = append(args, "--no-default-features")
	}
	if len(f.Features) > 0 {
		args = append(args, "--features", strings.Join(f.Features, ","))
	}
	cmd := exec.Command(c.cargo, args...)
	cmd.Dir = dir
	cmd.Env = c.env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cargo %s: %v", strings.Join(args, " "), err)
	}
	seen := map[string]bool{}
	var crates []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n")[1:] {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if name != "" && !seen[name] {
			seen[name] = true
			crates = append(crates, name)
		}
	}
	sort.Strings(crates)
	return crates
}

func TestCrateDetails(t *testing.T) {
	c := newCargoEnv(t)
	dir := workspace(t, c)
	s := resolveFor(t, c, dir, cargo.Flags{Triple: "aarch64-unknown-linux-musl", Package: "app"}, WithSourceRevision("0123abc"), WithBuildTools(true))
	by := map[string]Crate{}
	for _, cr := range append(append([]Crate(nil), s.Crates...), s.BuildTools...) {
		by[cr.Name] = cr
	}
	// The checksum comes from Cargo.lock; Debian's crate directory records
	// the same .crate digest independently.
	hashed := 0
	for _, name := range []string{"cfg-if", "either", "itoa"} {
		cr := by[name]
		m, _ := filepath.Glob(filepath.Join(debianRegistry, name+"-"+cr.Version, ".cargo-checksum.json"))
		if len(m) != 1 {
			t.Fatalf("no Debian checksum file for %s %s", name, cr.Version)
		}
		var sum struct {
			Package string `json:"package"`
		}
		raw, err := os.ReadFile(m[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &sum); err != nil {
			t.Fatal(err)
		}
		// Debian locks a placeholder text for crates it has no digest
		// of (cfg-if here); that must not pass for a SHA-256.
		want := sum.Package
		if !sha256Hex.MatchString(want) {
			want = ""
		}
		if cr.SHA256 != want {
			t.Errorf("%s sha256 = %q, want %q", name, cr.SHA256, want)
		}
		if cr.SHA256 != "" {
			hashed++
		}
		if cr.PURL != "pkg:cargo/"+name+"@"+cr.Version {
			t.Errorf("%s purl = %q", name, cr.PURL)
		}
		// Replaced sources keep the id of the source they replace.
		if cr.Source.Kind != SourceRegistry || cr.Source.URL == "" {
			t.Errorf("%s source = %+v, want the registry", name, cr.Source)
		}
		if cr.License == "" {
			t.Errorf("%s has no licence", name)
		}
	}
	if hashed < 2 {
		t.Errorf("only %d of cfg-if, either, itoa carry a SHA-256; Debian has digests of either and itoa", hashed)
	}
	h := by["helper"]
	if h.Source != (Source{Kind: SourcePath, Path: "helper", Commit: "0123abc"}) || h.SHA256 != "" {
		t.Errorf("helper = %+v, want a path crate at helper with revision 0123abc", h)
	}
	if h.License != "MIT OR Apache-2.0" {
		t.Errorf("helper licence = %q, want the old MIT/Apache-2.0 spelling normalised", h.License)
	}
	if s.Root.Source != (Source{Kind: SourcePath, Path: ".", Commit: "0123abc"}) || s.Root.License != "MIT OR Apache-2.0" {
		t.Errorf("root = %+v", s.Root)
	}
	wantRoot := []string{by["cfg-if"].Ref(), by["either"].Ref(), by["helper"].Ref()}
	sort.Strings(wantRoot)
	if strings.Join(s.RootDependsOn, " ") != strings.Join(wantRoot, " ") {
		t.Errorf("root depends on %v, want %v", s.RootDependsOn, wantRoot)
	}
	if strings.Join(s.RootBuildTools, " ") != by["itoa"].Ref() {
		t.Errorf("root build tools %v, want [%s]", s.RootBuildTools, by["itoa"].Ref())
	}
}

// cargo metadata unifies features over every workspace member and over
// dev-dependencies: here app's dev-dependency on helper enables helper's
// optional either, and the sibling member other enables helper's optional
// itoa. The app binary links neither; with cargo tree the SBOM says so.
func TestSiblingAndDevFeaturesDoNotLeak(t *testing.T) {
	c := newCargoEnv(t)
	dir := filepath.Join(t.TempDir(), "unify")
	for name, body := range map[string]string{
		"Cargo.toml": `[workspace]
members = ["helper", "other"]
resolver = "2"

[package]
name = "app"
version = "0.3.0"
edition = "2021"

[dependencies]
helper = { path = "helper" }

[dev-dependencies]
helper = { path = "helper", features = ["extra"] }
`,
		"src/main.rs": "fn main() {}\n",
		"helper/Cargo.toml": `[package]
name = "helper"
version = "0.1.0"
edition = "2021"

[dependencies]
either = { version = "1", optional = true }
itoa = { version = "1", optional = true }

[features]
extra = ["dep:either"]
more = ["dep:itoa"]
`,
		"helper/src/lib.rs": "",
		"other/Cargo.toml": `[package]
name = "other"
version = "0.1.0"
edition = "2021"

[dependencies]
helper = { path = "../helper", features = ["more"] }
`,
		"other/src/main.rs": "fn main() {}\n",
	} {
		writeFile(t, filepath.Join(dir, name), body)
	}
	cmd := exec.Command(c.cargo, "generate-lockfile", "--offline")
	cmd.Dir = dir
	cmd.Env = c.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cargo generate-lockfile: %v\n%s", err, out)
	}
	f := cargo.Flags{Triple: "x86_64-unknown-linux-musl", Package: "app", Locked: true}
	if got := names(resolveFor(t, c, dir, f).Crates); strings.Join(got, ",") != "helper" {
		t.Errorf("linked crates with cargo tree = %v, want [helper]", got)
	}
	if got, tree := names(resolveFor(t, c, dir, f).Crates), cargoTree(t, c, dir, f); strings.Join(got, ",") != strings.Join(tree, ",") {
		t.Errorf("linked crates = %v, cargo tree -e normal says %v", got, tree)
	}
	// Metadata alone over-approximates (never under-): the documented
	// reason WithCargoTree exists.
	alone := names(resolveMetadataOnly(t, c, dir, f).Crates)
	if !slices.Contains(alone, "helper") {
		t.Errorf("cargo metadata alone lost helper: %v", alone)
	}
	t.Logf("cargo metadata alone lists %v", alone)

	// A tree of another package is refused.
	md, err := Metadata(context.Background(), c.cargo, dir, c.env, f)
	if err != nil {
		t.Fatal(err)
	}
	otherTree, err := Tree(context.Background(), c.cargo, dir, c.env, cargo.Flags{Triple: f.Triple, Package: "other"})
	if err != nil {
		t.Fatal(err)
	}
	lock, _ := os.ReadFile(filepath.Join(dir, "Cargo.lock"))
	if _, err := Resolve(md, lock, WithPackage("app"), WithCargoTree(otherTree)); err == nil || !strings.Contains(err.Error(), "cargo tree was run for package other, not app") {
		t.Errorf("tree of another package: err = %v", err)
	}
}

func TestMetadataErrorIsOneLine(t *testing.T) {
	c := newCargoEnv(t)
	dir := workspace(t, c)
	_, err := Metadata(context.Background(), c.cargo, dir, c.env, cargo.Flags{Triple: "x86_64-unknown-linux-musl", Package: "app", Features: []string{"nosuch"}})
	if err == nil {
		t.Fatal("cargo metadata with an unknown feature succeeded")
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("error = %q, want one line naming the feature", err)
	}
}
