package cookkey

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
)

// workspace copies the e2e tests' workspace so a test can edit it.
func workspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../testdata/app")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func edit(t *testing.T, file, old, cur string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s lacks %q", file, old)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(b), old, cur, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

var baseFlags = cargo.Flags{Profile: "release", Triple: "x86_64-unknown-linux-musl", Features: []string{"fast"}, Locked: true, RustFlags: "-C strip=symbols"}

const builderDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

// templateDigest is the template every keyOf records unless told.
var templateDigest = TemplateDigest([]byte("FROM builder AS cook\nRUN cargo build\n"), "cargo build --target a")

// keyOf plans the workspace as rust:build does and records its key.
func keyOf(t *testing.T, ws string, opts ...Option) *Key {
	t.Helper()
	plan, err := chef.NewPlan(chef.Options{Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]Option{WithFlags(baseFlags), WithBuilder(builderDigest), WithToolchain("rustc 1.63.0\n"), WithTemplate(templateDigest)}, opts...)
	k, err := FromRecipe(plan.Recipe, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestFromRecipeRecordsTheLock(t *testing.T) {
	k := keyOf(t, workspace(t))
	if !strings.HasPrefix(k.Recipe, "sha256:") || len(k.Recipe) != 71 {
		t.Errorf("recipe digest %q", k.Recipe)
	}
	var serde, greet *Crate
	for i, c := range k.Crates {
		switch c.Name {
		case "serde":
			serde = &k.Crates[i]
		case "greet":
			greet = &k.Crates[i]
		}
	}
	if serde == nil || serde.Version != "1.0.152" || !strings.HasPrefix(serde.Source, "registry+") {
		t.Errorf("serde entry %+v", serde)
	}
	// The recipe's lock is masked: a local crate is 0.0.1 without source.
	if greet == nil || greet.Version != "0.0.1" || greet.Source != "" {
		t.Errorf("greet entry %+v", greet)
	}
	if k.Toolchain != "rustc 1.63.0" || k.Profile != "release" || !reflect.DeepEqual(k.Triples, []string{"x86_64-unknown-linux-musl"}) || k.CargoConfig != "" {
		t.Errorf("key %+v", k)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	ws := workspace(t)
	os.MkdirAll(filepath.Join(ws, ".cargo"), 0o755)
	os.WriteFile(filepath.Join(ws, ".cargo", "config.toml"), []byte("[net]\noffline = true\n"), 0o644)
	k := keyOf(t, ws, WithTriples("aarch64-unknown-linux-musl"))
	s, err := k.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s, "\n") || !strings.Contains(s, `"v":1`) || !strings.Contains(s, `"local":["app 0.0.1","greet 0.0.1"]`) {
		t.Errorf("encoded record: %s", s)
	}
	back, err := Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, k) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, k)
	}
	if again, _ := back.Encode(); again != s {
		t.Errorf("re-encoding differs:\n%s\n%s", again, s)
	}
	// The same inputs in another order give the same bytes.
	k2 := *k
	k2.Crates = append([]Crate(nil), k.Crates...)
	k2.Crates[0], k2.Crates[len(k2.Crates)-1] = k2.Crates[len(k2.Crates)-1], k2.Crates[0]
	k2.Triples = []string{k.Triples[1], k.Triples[0]}
	if s2, _ := k2.Encode(); s2 != s {
		t.Errorf("order changed the record:\n%s\n%s", s2, s)
	}
}

func TestDecodeRefusesForeignRecords(t *testing.T) {
	for _, in := range []string{`not json`, `{"v":2,"recipe":"sha256:00"}`, `{"v":1}`, `{"v":1,"recipe":"sha256:00","crates":{"local":["noversion"]}}`} {
		if _, err := Decode(in); err == nil || !strings.HasPrefix(err.Error(), "cookkey: ") {
			t.Errorf("Decode(%s) = %v, want a cookkey error", in, err)
		}
	}
}

// Each input changed alone yields exactly its line.
func TestEachChangeAloneYieldsItsLine(t *testing.T) {
	ws := workspace(t)
	old := keyOf(t, ws)
	cases := []struct {
		name   string
		change func(t *testing.T, ws string) *Key
		want   []string
	}{
		{"crate version", func(t *testing.T, ws string) *Key {
			edit(t, filepath.Join(ws, "Cargo.lock"), "name = \"serde\"\nversion = \"1.0.152\"", "name = \"serde\"\nversion = \"1.0.153\"")
			return keyOf(t, ws)
		}, []string{"Cargo.lock: serde 1.0.152 -> 1.0.153"}},
		{"crate source", func(t *testing.T, ws string) *Key {
			k := keyOf(t, ws)
			for i := range k.Crates {
				if k.Crates[i].Name == "ryu" {
					k.Crates[i].Source = "sparse+https://index.example.org/"
				}
			}
			return k
		}, []string{"Cargo.lock: ryu 1.0.2 source " + crateSource(old, "ryu") + " -> sparse+https://index.example.org/"}},
		{"crate added", func(t *testing.T, ws string) *Key {
			k := keyOf(t, ws)
			k.Crates = append(k.Crates, Crate{Name: "libc", Version: "0.2.155", Source: "sparse+https://index.example.org/"})
			k.normalize()
			return k
		}, []string{"Cargo.lock: added libc 0.2.155 (sparse+https://index.example.org/)"}},
		{"crate removed", func(t *testing.T, ws string) *Key {
			k := keyOf(t, ws)
			k.Crates = slicesDelete(k.Crates, "itoa")
			return k
		}, []string{"Cargo.lock: removed itoa 1.0.1 (" + crateSource(old, "itoa") + ")"}},
		{"cargo config", func(t *testing.T, ws string) *Key {
			os.MkdirAll(filepath.Join(ws, ".cargo"), 0o755)
			os.WriteFile(filepath.Join(ws, ".cargo", "config.toml"), []byte("[build]\njobs = 1\n"), 0o644)
			return keyOf(t, ws)
		}, []string{".cargo/config.toml added"}},
		{"manifest", func(t *testing.T, ws string) *Key {
			edit(t, filepath.Join(ws, "Cargo.toml"), "resolver = \"2\"", "resolver = \"2\"\n\n[profile.release]\nlto = true")
			return keyOf(t, ws)
		}, []string{"recipe: " + short(old.Recipe) + " -> "}},
		{"toolchain", func(t *testing.T, ws string) *Key { return keyOf(t, ws, WithToolchain("rustc 1.65.0")) },
			[]string{"toolchain: rustc 1.63.0 -> rustc 1.65.0"}},
		{"builder", func(t *testing.T, ws string) *Key {
			return keyOf(t, ws, WithBuilder("sha256:2222222222222222222222222222222222222222222222222222222222222222"))
		}, []string{"builder: " + builderDigest + " -> sha256:2222222222222222222222222222222222222222222222222222222222222222"}},
		{"template", func(t *testing.T, ws string) *Key {
			return keyOf(t, ws, WithTemplate(TemplateDigest([]byte("FROM builder AS cook\nRUN cargo build\n"), "cargo build --target a --target b")))
		}, []string{"the kit's build template changed: " + short(templateDigest) + " -> " + short(TemplateDigest([]byte("FROM builder AS cook\nRUN cargo build\n"), "cargo build --target a --target b")) + " (a kit upgrade re-runs the cook once)"}},
		{"profile", func(t *testing.T, ws string) *Key {
			f := baseFlags
			f.Profile = ""
			return keyOf(t, ws, WithFlags(f))
		}, []string{"profile: release -> dev"}},
		{"features", func(t *testing.T, ws string) *Key {
			f := baseFlags
			f.Features, f.NoDefaultFeatures = nil, true
			return keyOf(t, ws, WithFlags(f))
		}, []string{"features: --features fast -> --no-default-features"}},
		{"triples", func(t *testing.T, ws string) *Key { return keyOf(t, ws, WithTriples("aarch64-unknown-linux-musl")) },
			[]string{"triples: added aarch64-unknown-linux-musl"}},
		{"rustflags", func(t *testing.T, ws string) *Key {
			f := baseFlags
			f.RustFlags += " -Ctarget-cpu=native"
			return keyOf(t, ws, WithFlags(f))
		}, []string{"RUSTFLAGS added -Ctarget-cpu=native"}},
		{"rustflags spaced option", func(t *testing.T, ws string) *Key {
			f := baseFlags
			f.RustFlags = "-C target-cpu=native -C strip=symbols"
			return keyOf(t, ws, WithFlags(f))
		}, []string{"RUSTFLAGS added -C target-cpu=native"}},
		{"rustflags order", func(t *testing.T, ws string) *Key {
			f := baseFlags
			f.RustFlags = "-C  strip=symbols"
			return keyOf(t, ws, WithFlags(f))
		}, []string{`RUSTFLAGS: "-C strip=symbols" -> "-C  strip=symbols"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur := tc.change(t, workspace(t))
			got := Changes(old, cur)
			if len(got) != len(tc.want) {
				t.Fatalf("Changes = %q, want %q", got, tc.want)
			}
			for i := range got {
				// The manifest case cannot know the new digest up front.
				if got[i] != tc.want[i] && !(tc.name == "manifest" && strings.HasPrefix(got[i], tc.want[i]) && strings.HasSuffix(got[i], "(a manifest, the toolchain file or the workspace layout changed)")) {
					t.Errorf("line %d = %q, want %q", i, got[i], tc.want[i])
				}
			}
			// What changed is named whether or not the cache was there.
			if why := WhyCookRan(old, cur, []string{"127.0.0.1:5123/app:buildcache-main"}); !reflect.DeepEqual(why, got) {
				t.Errorf("WhyCookRan = %q, want %q", why, got)
			}
		})
	}
}

func crateSource(k *Key, name string) string {
	for _, c := range k.Crates {
		if c.Name == name {
			return c.Source
		}
	}
	return ""
}

func slicesDelete(cs []Crate, name string) []Crate {
	var out []Crate
	for _, c := range cs {
		if c.Name != name {
			out = append(out, c)
		}
	}
	return out
}

func TestNothingChangedNamesTheCache(t *testing.T) {
	ws := workspace(t)
	old, cur := keyOf(t, ws), keyOf(t, ws)
	// The record survives the trip through an annotation.
	s, err := old.Encode()
	if err != nil {
		t.Fatal(err)
	}
	prev, err := Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := Changes(prev, cur); got != nil {
		t.Fatalf("Changes of equal records = %q", got)
	}
	got := WhyCookRan(prev, cur, []string{"127.0.0.1:5123/app:buildcache-feature", "127.0.0.1:5123/app:buildcache-main"})
	want := []string{"no input changed: the cache was not available (tried 127.0.0.1:5123/app:buildcache-feature, 127.0.0.1:5123/app:buildcache-main)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WhyCookRan = %q, want %q", got, want)
	}
	if got := WhyCookRan(prev, cur, nil); got[0] != "no input changed: the cache was not available (no cache was configured)" {
		t.Errorf("WhyCookRan without cache = %q", got)
	}
	if got := WhyCookRan(nil, cur, nil); len(got) != 1 || !strings.HasPrefix(got[0], "no previous cook record") {
		t.Errorf("WhyCookRan without a record = %q", got)
	}
	var b strings.Builder
	if err := WriteBlock(&b, got); err != nil {
		t.Fatal(err)
	}
	if b.String() != "why did cook run:\n  "+got[0]+"\n" {
		t.Errorf("block %q", b.String())
	}
}

func TestSeveralChangesInOneBlock(t *testing.T) {
	ws := workspace(t)
	old := keyOf(t, ws)
	edit(t, filepath.Join(ws, "Cargo.lock"), "name = \"serde\"\nversion = \"1.0.152\"", "name = \"serde\"\nversion = \"1.0.153\"")
	f := baseFlags
	f.RustFlags = "-Ctarget-cpu=native"
	got := Changes(old, keyOf(t, ws, WithFlags(f)))
	want := []string{"Cargo.lock: serde 1.0.152 -> 1.0.153", "RUSTFLAGS added -Ctarget-cpu=native; removed -C strip=symbols"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Changes = %q, want %q", got, want)
	}
}

// A token in a git source of Cargo.lock stays out of the key (it goes into
// the provenance) and does not read as a change when it rotates.
func TestLockedCratesDropSourceCredentials(t *testing.T) {
	lock := func(token string) []byte {
		return []byte(`version = 3

[[package]]
name = "dep"
version = "0.1.0"
source = "git+https://ci:` + token + `@git.example/dep.git?branch=main#0123456789abcdef0123456789abcdef01234567"
`)
	}
	a, err := LockedCrates(lock("t0ken-1"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := LockedCrates(lock("t0ken-2"))
	if err != nil {
		t.Fatal(err)
	}
	want := "git+https://git.example/dep.git?branch=main#0123456789abcdef0123456789abcdef01234567"
	if len(a) != 1 || a[0].Source != want || len(b) != 1 || b[0] != a[0] {
		t.Errorf("crates %+v and %+v, want one with source %q", a, b, want)
	}
}
