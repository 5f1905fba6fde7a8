package chef

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden recipes in testdata/chef/golden")

func TestGoldenRecipes(t *testing.T) {
	cases := []struct {
		golden string
		opts   Options
	}{
		{"simple", Options{Workspace: "simple"}},
		{"ws", Options{Workspace: "ws"}},
		{"ws-bin-other", Options{Workspace: "ws", Bin: "other"}},
		{"outer", Options{Workspace: "outer/app"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			opts := c.opts
			opts.Workspace = filepath.Join(fixtures, opts.Workspace)
			got := encoded(t, mustPlan(t, opts).Recipe)
			file := filepath.Join(fixtures, "golden", c.golden+".recipe.json")
			if *update {
				writeFile(t, file, string(got))
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/chef -run TestGoldenRecipes -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("recipe differs from %s (rerun with -update if intended):\n%s", file, got)
			}
		})
	}
}

// Determinism across runs and machines: same bytes from a second plan, and
// from a copy of the workspace at another absolute path, with files created
// in another order.
func TestDeterministic(t *testing.T) {
	a := encoded(t, mustPlan(t, Options{Workspace: filepath.Join(fixtures, "ws")}).Recipe)
	b := encoded(t, mustPlan(t, Options{Workspace: filepath.Join(fixtures, "ws")}).Recipe)
	c := encoded(t, mustPlan(t, Options{Workspace: fixture(t, "ws")}).Recipe)
	if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Fatal("planning the same workspace twice gave different bytes")
	}
	// Two plan directories written from the same workspace hold identical trees.
	d1, d2 := filepath.Join(t.TempDir(), "p"), filepath.Join(t.TempDir(), "p")
	for _, d := range []string{d1, d2} {
		if _, err := PlanAndWrite(Options{Workspace: filepath.Join(fixtures, "ws")}, d, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	}
	if x, y := treeDigest(t, d1), treeDigest(t, d2); x != y {
		t.Fatalf("plan directories differ:\n%s\n---\n%s", x, y)
	}
}

func treeDigest(t *testing.T, dir string) string {
	var sb strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sb.WriteString(rel + " " + fi.Mode().String() + "\n")
		if !fi.IsDir() {
			b, _ := os.ReadFile(p)
			sb.Write(b)
			sb.WriteString("\n")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

func manifestOf(t *testing.T, r *Recipe, rel string) Manifest {
	t.Helper()
	for _, m := range r.Skeleton.Manifests {
		if m.RelativePath == rel {
			return m
		}
	}
	t.Fatalf("recipe has no manifest %s", rel)
	return Manifest{}
}

func TestMasking(t *testing.T) {
	r := mustPlan(t, Options{Workspace: filepath.Join(fixtures, "ws")}).Recipe
	root, _ := parseTOML([]byte(manifestOf(t, r, "Cargo.toml").Contents), "root")
	ws := table(root, "workspace")
	if v := str(table(ws, "package"), "version"); v != maskedVersion {
		t.Errorf("workspace.package.version = %q, want %q", v, maskedVersion)
	}
	if v := str(table(table(ws, "dependencies"), "core-lib"), "version"); v != maskedVersion {
		t.Errorf("workspace.dependencies.core-lib.version = %q", v)
	}
	if _, ok := ws["lints"]; ok {
		t.Error("[workspace.lints] kept")
	}
	app, _ := parseTOML([]byte(manifestOf(t, r, "crates/app/Cargo.toml").Contents), "app")
	if v := str(table(table(app, "dependencies"), "macros"), "version"); v != maskedVersion {
		t.Errorf("path dependency version req = %q", v)
	}
	cond := table(table(table(table(app, "target"), "cfg(unix)"), "dependencies"), "conditional")
	if str(cond, "version") != "1" || str(cond, "package") != "cfg-if" {
		t.Errorf("external renamed target-specific dependency was touched: %v", cond)
	}
	core, _ := parseTOML([]byte(manifestOf(t, r, "crates/core-lib/Cargo.toml").Contents), "core")
	if _, ok := core["lints"]; ok {
		t.Error("[lints] kept")
	}
	other, _ := parseTOML([]byte(manifestOf(t, r, "crates/other/Cargo.toml").Contents), "other")
	if v := str(table(other, "package"), "version"); v != maskedVersion {
		t.Errorf("package.version = %q", v)
	}
	lock, _ := parseTOML([]byte(*r.Skeleton.LockFile), "lock")
	for _, p := range tableList(lock["package"]) {
		local := str(p, "source") == ""
		if local != (str(p, "version") == maskedVersion) {
			t.Errorf("lock entry %s %s (source %q): local crates and only they must be masked", str(p, "name"), str(p, "version"), str(p, "source"))
		}
	}
}

// Path dependencies outside the workspace keep their place relative to it,
// and renamed and target-specific path dependencies are masked too.
func TestRenamedTargetSpecificPathDependency(t *testing.T) {
	ws := fixture(t, "ws")
	replaceIn(t, filepath.Join(ws, "crates/app/Cargo.toml"), "[target.'cfg(unix)'.dependencies]\n",
		"[target.'cfg(unix)'.dependencies]\nmac = { package = \"macros\", path = \"../macros\", version = \"0.1\" }\n")
	r := mustPlan(t, Options{Workspace: ws}).Recipe
	app, _ := parseTOML([]byte(manifestOf(t, r, "crates/app/Cargo.toml").Contents), "app")
	mac := table(table(table(table(app, "target"), "cfg(unix)"), "dependencies"), "mac")
	if str(mac, "version") != maskedVersion || str(mac, "package") != "macros" {
		t.Fatalf("renamed target-specific path dependency not masked: %v", mac)
	}
}

func TestTargetsAndSkeleton(t *testing.T) {
	plan := mustPlan(t, Options{Workspace: filepath.Join(fixtures, "ws")})
	got := map[string]string{}
	for _, p := range plan.Packages {
		for _, tg := range p.Targets {
			got[p.Dir+"/"+tg.Path] = tg.Kind.Name + ":" + tg.Name
		}
	}
	want := map[string]string{
		"crates/app/src/main.rs":           "Bin:app",
		"crates/app/src/bin/tool.rs":       "Bin:tool",
		"crates/app/src/bin/multi/main.rs": "Bin:multi",
		"crates/app/tests/it.rs":           "Test:it",
		"crates/app/tests/noharness.rs":    "Test:noharness",
		"crates/app/examples/demo.rs":      "Example:demo",
		"crates/app/benches/speed.rs":      "Bench:speed",
		"crates/core-lib/build.rs":         "BuildScript:build-script-build",
		"crates/core-lib/src/lib.rs":       "Lib:core_lib",
		"crates/macros/src/lib.rs":         "Lib:macros",
		"crates/other/src/main.rs":         "Bin:other",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("target %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("targets = %v, want %v", got, want)
	}

	dir := t.TempDir()
	root, err := WriteSkeleton(dir, plan.Recipe)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"crates/app/src/main.rs":        "fn main() {}\n",
		"crates/app/tests/it.rs":        "",
		"crates/app/tests/noharness.rs": "fn main() {}\n",
		"crates/app/benches/speed.rs":   "fn main() {}\n",
		"crates/core-lib/build.rs":      "fn main() {}\n",
		"crates/macros/src/lib.rs":      "",
		"Cargo.lock":                    *plan.Recipe.Skeleton.LockFile,
	} {
		if got := readFile(t, filepath.Join(root, file)); got != want {
			t.Errorf("skeleton %s = %q, want %q", file, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "crates/skip")); err == nil {
		t.Error("excluded member written to the skeleton")
	}
}

func TestAutoDiscoverySwitches(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Cargo.toml"), `[package]
name = "sw"
version = "1.0.0"
edition = "2021"
autobins = false
autoexamples = false
build = false

[[bin]]
name = "explicit"
path = "cmd/explicit.rs"
required-features = ["extra"]

[features]
extra = []
`)
	for _, f := range []string{"src/main.rs", "src/bin/ignored.rs", "examples/ignored.rs", "build.rs", "tests/t.rs", "src/lib.rs", "cmd/explicit.rs"} {
		writeFile(t, filepath.Join(dir, f), "fn main() {}\n")
	}
	writeFile(t, filepath.Join(dir, "Cargo.lock"), "version = 3\n\n[[package]]\nname = \"sw\"\nversion = \"1.0.0\"\n")
	plan := mustPlan(t, Options{Workspace: dir})
	var got []string
	for _, tg := range plan.Packages[0].Targets {
		got = append(got, tg.Kind.Name+":"+tg.Name+"@"+tg.Path)
	}
	want := "Bin:explicit@cmd/explicit.rs Lib:sw@src/lib.rs Test:t@tests/t.rs"
	if strings.Join(got, " ") != want {
		t.Fatalf("targets = %s, want %s", strings.Join(got, " "), want)
	}

	// Edition 2015 (the default) turns discovery off once a [[bin]] is declared.
	replaceIn(t, filepath.Join(dir, "Cargo.toml"), "edition = \"2021\"\nautobins = false\n", "")
	plan = mustPlan(t, Options{Workspace: dir})
	for _, tg := range plan.Packages[0].Targets {
		if tg.Name == "ignored" || tg.Name == "sw" && tg.Kind.Name == "Bin" {
			t.Errorf("edition 2015 discovered %s %s despite an explicit [[bin]]", tg.Kind.Name, tg.Path)
		}
	}
}

func TestGlobMembers(t *testing.T) {
	ws := fixture(t, "ws")
	replaceIn(t, filepath.Join(ws, "Cargo.toml"), `members = ["crates/*"]`, `members = ["crates/*", "extra/*/d*"]`)
	writeFile(t, filepath.Join(ws, "extra/group/deep/Cargo.toml"), "[package]\nname = \"deep\"\nversion = \"3.0.0\"\n")
	writeFile(t, filepath.Join(ws, "extra/group/deep/src/lib.rs"), "")
	writeFile(t, filepath.Join(ws, "extra/group/docs.txt"), "a file matching the glob is not a member\n")
	writeFile(t, filepath.Join(ws, "extra/group/other/Cargo.toml"), "not matched by d*, never read\n")
	plan := mustPlan(t, Options{Workspace: ws})
	var names []string
	for _, p := range plan.Packages {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "app,core-lib,macros,other,deep" {
		t.Fatalf("members = %s", got)
	}
	// As in Cargo, a directory matched by a member glob must be a package.
	writeFile(t, filepath.Join(ws, "extra/group/drafts/notes.md"), "")
	_, err := NewPlan(Options{Workspace: ws})
	if err == nil || !strings.Contains(err.Error(), `"extra/group/drafts"`) || !strings.Contains(err.Error(), "no Cargo.toml") {
		t.Fatalf("glob matching a directory without Cargo.toml: err = %v", err)
	}
}

func TestBinNarrowing(t *testing.T) {
	plan := mustPlan(t, Options{Workspace: filepath.Join(fixtures, "ws"), Bin: "other"})
	var paths []string
	for _, m := range plan.Recipe.Skeleton.Manifests {
		paths = append(paths, m.RelativePath)
	}
	if got := strings.Join(paths, " "); got != "Cargo.toml crates/other/Cargo.toml" {
		t.Fatalf("manifests = %s", got)
	}
	lock := *plan.Recipe.Skeleton.LockFile
	for _, gone := range []string{"itoa", "memchr", "core-lib", "cfg-if"} {
		if strings.Contains(lock, "'"+gone+"'") {
			t.Errorf("narrowed lockfile still has %s", gone)
		}
	}
	if plan.ExternalDeps != 1 {
		t.Errorf("external deps = %d, want 1 (either)", plan.ExternalDeps)
	}
	root, _ := parseTOML([]byte(plan.Recipe.Skeleton.Manifests[0].Contents), "root")
	ws := table(root, "workspace")
	if got := strList(ws["members"]); strings.Join(got, ",") != "crates/other" {
		t.Errorf("members = %v", got)
	}
	if _, ok := ws["default-members"]; ok {
		t.Error("default-members still names crates/app")
	}
	if len(table(ws, "dependencies")) != 0 {
		t.Errorf("workspace.dependencies not trimmed: %v", table(ws, "dependencies"))
	}

	app := mustPlan(t, Options{Workspace: filepath.Join(fixtures, "ws"), Bin: "tool"})
	var names []string
	for _, p := range app.Packages {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "app,core-lib,macros" {
		t.Fatalf("packages for bin tool = %s", got)
	}
}

// Bad input fails with one clear line and leaves no plan directory.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name  string
		fixup func(t *testing.T, ws string)
		bin   string
		want  []string
	}{
		{"malformed toml", func(t *testing.T, ws string) {
			writeFile(t, filepath.Join(ws, "crates/other/Cargo.toml"), "[package]\nname = \"other\nversion = \"1\"\n")
		}, "", []string{"crates/other/Cargo.toml:2:", "invalid TOML", "basic strings cannot have new lines"}},
		{"missing member", func(t *testing.T, ws string) {
			replaceIn(t, filepath.Join(ws, "Cargo.toml"), `members = ["crates/*"]`, `members = ["crates/*", "services/api"]`)
		}, "", []string{`workspace member "services/api"`, "does not exist", "remove it from [workspace] members"}},
		{"missing lockfile", func(t *testing.T, ws string) {
			os.Remove(filepath.Join(ws, "Cargo.lock"))
		}, "", []string{"Cargo.lock does not exist", "cargo generate-lockfile"}},
		{"unknown bin", nil, "nope", []string{`bin "nope" not found`, "known bins: app, multi, other, tool"}},
		{"symlink loop", func(t *testing.T, ws string) {
			if err := os.Symlink("loop", filepath.Join(ws, "crates/loop")); err != nil {
				t.Fatal(err)
			}
		}, "", []string{"crates/loop", "symlink loop"}},
		{"symlink cycle under **", func(t *testing.T, ws string) {
			replaceIn(t, filepath.Join(ws, "Cargo.toml"), `members = ["crates/*"]`, `members = ["crates/**"]`)
			if err := os.Symlink("..", filepath.Join(ws, "crates/app/up")); err != nil {
				t.Fatal(err)
			}
		}, "", []string{"symlink loop"}},
		{"path dependency without manifest", func(t *testing.T, ws string) {
			replaceIn(t, filepath.Join(ws, "crates/other/Cargo.toml"), "[dependencies]\n", "[dependencies]\ngone = { path = \"../gone\" }\n")
		}, "", []string{"crates/gone/Cargo.toml does not exist"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws := fixture(t, "ws")
			if c.fixup != nil {
				c.fixup(t, ws)
			}
			planDir := filepath.Join(ws, "target", "muslrust-chef")
			_, err := PlanAndWrite(Options{Workspace: ws, Bin: c.bin}, planDir, &bytes.Buffer{})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if _, err := os.Stat(filepath.Join(ws, "target")); !os.IsNotExist(err) {
				t.Errorf("something was written under target/ despite the error (%v)", err)
			}
		})
	}
}

// A failed re-plan keeps the previous plan intact (no partial replacement).
func TestFailedReplanKeepsPreviousPlan(t *testing.T) {
	ws := fixture(t, "simple")
	planDir := filepath.Join(ws, "target", "muslrust-chef")
	if _, err := PlanAndWrite(Options{Workspace: ws}, planDir, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	before := treeDigest(t, planDir)
	writeFile(t, filepath.Join(ws, "Cargo.toml"), "[package\n")
	if _, err := PlanAndWrite(Options{Workspace: ws}, planDir, &bytes.Buffer{}); err == nil {
		t.Fatal("malformed manifest accepted")
	}
	if after := treeDigest(t, planDir); after != before {
		t.Fatal("plan directory changed after a failed plan")
	}
	entries, _ := os.ReadDir(filepath.Dir(planDir))
	if len(entries) != 1 {
		t.Fatalf("leftovers next to the plan directory: %v", entries)
	}
}

func TestReportAndChanges(t *testing.T) {
	ws := fixture(t, "ws")
	planDir := filepath.Join(t.TempDir(), "plan")
	var out bytes.Buffer
	if _, err := PlanAndWrite(Options{Workspace: ws}, planDir, &out); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"core-lib", "crates/core-lib", "member", "bin=4", "external dependencies: 4", "recipe: sha256:", "no previous recipe"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("report lacks %q:\n%s", w, out.String())
		}
	}
	out.Reset()
	if _, err := PlanAndWrite(Options{Workspace: ws}, planDir, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "changes: none") {
		t.Errorf("unchanged workspace reported changes:\n%s", out.String())
	}

	// Edits a user makes, each with the line that must explain it.
	replaceIn(t, filepath.Join(ws, "crates/other/Cargo.toml"), `either = "1"`, `either = "1.6"`)
	replaceIn(t, filepath.Join(ws, "Cargo.toml"), "itoa = \"1\"\n", "itoa = \"1\"\nmemchr = \"2\"\n")
	replaceIn(t, filepath.Join(ws, "Cargo.lock"), "name = \"memchr\"\nversion = \"2.5.0\"", "name = \"memchr\"\nversion = \"2.5.1\"")
	writeFile(t, filepath.Join(ws, "rust-toolchain.toml"), "[toolchain]\nchannel = \"1.95\"\n")
	writeFile(t, filepath.Join(ws, ".cargo/config.toml"), "[build]\nrustflags = [\"-Ctarget-cpu=native\"]\n")
	replaceIn(t, filepath.Join(ws, "crates/app/Cargo.toml"), "[[bench]]", "[features]\nfast = []\n\n[[bench]]")
	out.Reset()
	if _, err := PlanAndWrite(Options{Workspace: ws}, planDir, &out); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		`dependency changed: crates/other/Cargo.toml: [dependencies] either: "1" -> "1.6"`,
		`dependency added: Cargo.toml: [workspace.dependencies] memchr = "2"`,
		"lockfile entry changed: memchr 2.5.0 -> 2.5.1",
		"toolchain changed: rust-toolchain file added",
		"cargo config changed: .cargo/config.toml added",
		"manifest changed: crates/app/Cargo.toml: [features]",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("report lacks %q:\n%s", w, out.String())
		}
	}
}
