package chef

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// One Load serves the bin listing and any number of plans: each plan is
// byte-identical to one from a fresh read, whatever was planned before it
// (narrowing rewrites the root manifest and trims the lockfile of a copy).
func TestLoadOncePlanMany(t *testing.T) {
	ws := filepath.Join(fixtures, "ws")
	w, err := Load(ws)
	if err != nil {
		t.Fatal(err)
	}
	var bins []string
	for _, b := range w.Bins() {
		bins = append(bins, fmt.Sprintf("%s@%s(%s)", b.Name, b.Package, b.Manifest))
	}
	if got, want := strings.Join(bins, " "), "app@app(crates/app/Cargo.toml) multi@app(crates/app/Cargo.toml) other@other(crates/other/Cargo.toml) tool@app(crates/app/Cargo.toml)"; got != want {
		t.Errorf("Bins() = %s, want %s", got, want)
	}
	fresh := map[string][]byte{}
	for _, bin := range []string{"", "other", "tool", "app", "multi"} {
		fresh[bin] = encoded(t, mustPlan(t, Options{Workspace: ws, Bin: bin}).Recipe)
	}
	for round := 0; round < 2; round++ {
		for _, bin := range []string{"other", "", "tool", "multi", "app", ""} {
			p, err := w.Plan(bin)
			if err != nil {
				t.Fatal(err)
			}
			if got := encoded(t, p.Recipe); !bytes.Equal(got, fresh[bin]) {
				t.Fatalf("round %d, bin %q: plan from the loaded workspace differs from a fresh plan:\n%s", round, bin, got)
			}
		}
	}
	whole, err := w.Plan("")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(w.Packages()), fmt.Sprint(whole.Packages); got != want {
		t.Errorf("Packages() = %s, want the whole plan's %s", got, want)
	}
}

// Bin (and Plan) name the one member defining a binary, or say what is wrong.
func TestWorkspaceBin(t *testing.T) {
	w, err := Load(filepath.Join(fixtures, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := w.Bin("tool"); err != nil || b.Package != "app" || b.Manifest != "crates/app/Cargo.toml" {
		t.Errorf("Bin(tool) = %+v, %v", b, err)
	}
	if _, err := w.Plan("nope"); err == nil || err.Error() != `bin "nope" not found; known bins: app, multi, other, tool` {
		t.Errorf("Plan(nope): %v", err)
	}

	dup := fixture(t, "ws")
	replaceIn(t, filepath.Join(dup, "crates/other/Cargo.toml"), "[dependencies]\n", "[[bin]]\nname = \"tool\"\npath = \"src/main.rs\"\n\n[dependencies]\n")
	w, err = Load(dup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Bin("tool"); err == nil || err.Error() != `bin "tool" is defined by both app and other; rename one` {
		t.Errorf("Bin(tool) with two owners: %v", err)
	}

	lib := filepath.Join(t.TempDir(), "lib")
	writeFile(t, filepath.Join(lib, "Cargo.toml"), "[package]\nname = \"lib\"\nversion = \"0.1.0\"\n")
	writeFile(t, filepath.Join(lib, "src/lib.rs"), "")
	writeFile(t, filepath.Join(lib, "Cargo.lock"), "version = 3\n")
	if w, err = Load(lib); err != nil {
		t.Fatal(err)
	}
	if len(w.Bins()) != 0 {
		t.Errorf("Bins() of a library = %v", w.Bins())
	}
	if _, err := w.Bin("x"); err == nil || err.Error() != `bin "x" not found: the workspace has no binaries` {
		t.Errorf("Bin(x) without binaries: %v", err)
	}
	if _, err := os.Stat(filepath.Join(lib, "target")); !os.IsNotExist(err) {
		t.Errorf("Load wrote into the workspace: %v", err)
	}
}
