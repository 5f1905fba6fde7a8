package chef

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
)

const debianRegistry = "/usr/share/cargo/registry"

// cargoEnv is a throwaway CARGO_HOME whose config replaces crates-io with
// Debian's crates (these machines cannot reach crates.io).
type cargoEnv struct {
	cargo, triple string
	env           []string
}

func newCargoEnv(t *testing.T, registry string) *cargoEnv {
	t.Helper()
	c := &cargoEnv{cargo: testinfra.Tool(t, "cargo")}
	rustc := testinfra.Tool(t, "rustc")
	for _, crate := range []string{"itoa", "cfg-if", "memchr", "either", "scopeguard"} {
		if m, _ := filepath.Glob(filepath.Join(debianRegistry, crate+"-*")); len(m) == 0 {
			testinfra.Missing(t, "Debian crate "+crate+" in "+debianRegistry, "run: sudo scripts/provision.d/rust-crates.sh")
		}
	}
	if registry == "" {
		registry = debianRegistry
	}
	home := t.TempDir()
	writeFile(t, filepath.Join(home, "config.toml"), "[source.crates-io]\nreplace-with = \"local\"\n\n[source.local]\ndirectory = \""+registry+"\"\n\n[net]\noffline = true\n")
	c.env = []string{"CARGO_HOME=" + home, "CARGO_TERM_COLOR=never"}
	if rh := os.Getenv("RUSTUP_HOME"); rh == "" {
		// rustup's proxies look for toolchains under $HOME/.rustup unless told.
		if h, err := os.UserHomeDir(); err == nil {
			c.env = append(c.env, "RUSTUP_HOME="+filepath.Join(h, ".rustup"))
		}
	}
	out, err := exec.Command(rustc, "-vV").Output()
	if err != nil {
		t.Fatalf("rustc -vV: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "host: ") {
			c.triple = strings.TrimPrefix(l, "host: ")
		}
	}
	return c
}

func (c *cargoEnv) run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(c.cargo, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), c.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cargo %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// build runs the real build with the same flags as the cook and returns,
// per package id, whether every artifact was fresh.
func (c *cargoEnv) build(t *testing.T, dir string, f cargo.Flags) map[string]bool {
	t.Helper()
	args := append(f.BuildArgs(), "--message-format=json")
	cmd := exec.Command(c.cargo, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), f.Env()...), c.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cargo %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	fresh := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var msg struct {
			Reason    string `json:"reason"`
			PackageID string `json:"package_id"`
			Fresh     bool   `json:"fresh"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) != nil || msg.Reason != "compiler-artifact" {
			continue
		}
		if prev, ok := fresh[msg.PackageID]; ok {
			fresh[msg.PackageID] = prev && msg.Fresh
		} else {
			fresh[msg.PackageID] = msg.Fresh
		}
	}
	return fresh
}

// pkgName turns "registry+https://...#itoa@1.0.1" or "path+file:///x#other@0.3.0"
// into the crate name; cargo leaves the name out ("path+file:///x/app#0.3.0")
// when it equals the directory's name.
func pkgName(id string) string {
	hash := strings.LastIndex(id, "#")
	frag := id[hash+1:]
	if i := strings.Index(frag, "@"); i >= 0 {
		return frag[:i]
	}
	return filepath.Base(id[:hash])
}

// assertOnlyLocalCompiled checks cargo-chef's promise: every external crate
// is fresh, and exactly the wanted local crates were compiled.
func assertOnlyLocalCompiled(t *testing.T, fresh map[string]bool, wantCompiled ...string) {
	t.Helper()
	var compiled, external []string
	for id, f := range fresh {
		local := strings.HasPrefix(id, "path+")
		switch {
		case !local && !f:
			t.Errorf("external crate %s was recompiled after the cook", id)
		case !local:
			external = append(external, pkgName(id))
		case !f:
			compiled = append(compiled, pkgName(id))
		}
	}
	sort.Strings(compiled)
	sort.Strings(wantCompiled)
	if strings.Join(compiled, ",") != strings.Join(wantCompiled, ",") {
		t.Errorf("compiled local crates = %v, want %v", compiled, wantCompiled)
	}
	if len(external) == 0 {
		t.Error("no external crate in the build: the scenario proves nothing")
	}
}

// cookScenario plans fixture tree `tree` (workspace at wsRel inside it),
// cooks the skeleton, copies the real sources over it like the Dockerfile's
// COPY . . and returns the skeleton's workspace root, ready for builds.
func cookScenario(t *testing.T, c *cargoEnv, tree, wsRel string, bin string, f cargo.Flags) (string, *Plan) {
	t.Helper()
	src := fixture(t, tree)
	plan := mustPlan(t, Options{Workspace: filepath.Join(src, wsRel), Bin: bin})
	planDir := filepath.Join(t.TempDir(), "plan")
	if err := WritePlan(planDir, plan.Recipe); err != nil {
		t.Fatal(err)
	}
	skel := filepath.Join(planDir, SkeletonDir)
	root := filepath.Join(skel, filepath.FromSlash(plan.Recipe.WorkspaceDir))
	recipe, err := LoadRecipe(filepath.Join(planDir, RecipeFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log bytes.Buffer
	if err := c.cook(ctx, root, recipe, f, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	// The sync root is the tree that holds the workspace and its outside path deps.
	syncFrom := filepath.Join(src, wsRel)
	syncTo := root
	for i := 0; i < outsideDepthOf(plan.Recipe); i++ {
		syncFrom, syncTo = filepath.Dir(syncFrom), filepath.Dir(syncTo)
	}
	copyTree(t, syncFrom, syncTo)
	return root, plan
}

// cook does on the host what the Dockerfile's cook stage does: build the
// skeleton whose workspace root is dir with the very flags of the real
// build, then clean what the dummy sources produced for local crates
// (cargo clean -p, same profile, triple and target dir), so the real build
// after copying the sources in compiles only local crates.
func (c *cargoEnv) cook(ctx context.Context, dir string, r *Recipe, f cargo.Flags, log io.Writer) error {
	if err := f.Validate(); err != nil {
		return err
	}
	locals, err := r.LocalPackages()
	if err != nil {
		return err
	}
	run := func(args []string) error {
		cmd := exec.CommandContext(ctx, c.cargo, args...)
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), f.Env()...), c.env...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("cook: cargo %s in %s: %w", strings.Join(args, " "), dir, err)
		}
		return nil
	}
	if err := run(f.BuildArgs()); err != nil {
		return err
	}
	if len(locals) == 0 {
		return nil
	}
	return run(f.CleanArgs(locals))
}

func outsideDepthOf(r *Recipe) int {
	if r.WorkspaceDir == "" {
		return 0
	}
	return len(strings.Split(r.WorkspaceDir, "/"))
}

func TestCookWorkspaceDev(t *testing.T) {
	c := newCargoEnv(t, "")
	f := cargo.Flags{Profile: "dev", Triple: c.triple, Locked: true}
	root, _ := cookScenario(t, c, "ws", "", "", f)

	// First real build after the cook: dependencies fresh, locals compiled.
	assertOnlyLocalCompiled(t, c.build(t, root, f), "app", "core-lib", "macros")

	// A source edit compiles only the edited crate.
	replaceIn(t, filepath.Join(root, "crates/app/src/main.rs"), "fn main() {", "fn main() {\n    println!(\"edited\");")
	assertOnlyLocalCompiled(t, c.build(t, root, f), "app")

	// A build.rs edit reruns that crate's build script, dependencies stay fresh.
	replaceIn(t, filepath.Join(root, "crates/core-lib/build.rs"), "hello", "bonjour")
	assertOnlyLocalCompiled(t, c.build(t, root, f), "app", "core-lib")

	out, err := exec.Command(f.BinPath(root, "app")).Output()
	if err != nil || !strings.HasPrefix(string(out), "edited\nbonjour 42") {
		t.Fatalf("built app printed %q (%v)", out, err)
	}
}

func TestCookProfilesAndTargetDir(t *testing.T) {
	c := newCargoEnv(t, "")
	for _, f := range []cargo.Flags{
		{Profile: "release", Triple: c.triple, Locked: true},
		{Profile: "dist", Triple: c.triple, Locked: true, TargetDir: "custom-target"},
	} {
		t.Run(f.Profile, func(t *testing.T) {
			root, _ := cookScenario(t, c, "simple", "", "", f)
			assertOnlyLocalCompiled(t, c.build(t, root, f), "simple")
			out, err := exec.Command(f.BinPath(root, "simple")).Output()
			if err != nil || string(out) != "42\n" {
				t.Fatalf("%s printed %q (%v)", f.BinPath(root, "simple"), out, err)
			}
			if f.TargetDir != "" {
				if _, err := os.Stat(filepath.Join(root, "target")); !os.IsNotExist(err) {
					t.Errorf("default target/ used despite --target-dir")
				}
			}
		})
	}
}

func TestCookBinNarrowing(t *testing.T) {
	c := newCargoEnv(t, "")
	// -p as well: the real workspace's default-members do not include it.
	f := cargo.Flags{Triple: c.triple, Locked: true, Package: "other", Bin: "other"}
	root, plan := cookScenario(t, c, "ws", "", "other", f)
	if len(plan.Packages) != 1 {
		t.Fatalf("narrowed plan has %d packages", len(plan.Packages))
	}
	assertOnlyLocalCompiled(t, c.build(t, root, f), "other")
}

func TestCookPathDependencyOutsideWorkspace(t *testing.T) {
	c := newCargoEnv(t, "")
	f := cargo.Flags{Triple: c.triple, Locked: true}
	root, plan := cookScenario(t, c, "outer", "app", "", f)
	if plan.Recipe.WorkspaceDir != "app" {
		t.Fatalf("workspace dir in skeleton = %q, want app", plan.Recipe.WorkspaceDir)
	}
	assertOnlyLocalCompiled(t, c.build(t, root, f), "outer-app", "shared")
}

// Recipe stability against what users do to their workspace.
func TestRecipeReactsToDependencyChangesOnly(t *testing.T) {
	c := newCargoEnv(t, "")

	t.Run("version bump of members and local deps keeps the recipe", func(t *testing.T) {
		ws := fixture(t, "ws")
		// Let this cargo write the lockfile in its own format first, so only
		// the bump differs below.
		c.run(t, ws, "generate-lockfile")
		before := encoded(t, mustPlan(t, Options{Workspace: ws}).Recipe)
		lockBefore := readFile(t, filepath.Join(ws, "Cargo.lock"))
		replaceIn(t, filepath.Join(ws, "Cargo.toml"), `version = "0.3.0"`+"\n", `version = "0.4.0"`+"\n")
		replaceIn(t, filepath.Join(ws, "Cargo.toml"), `version = "0.3.0" }`, `version = "0.4.0" }`)
		replaceIn(t, filepath.Join(ws, "crates/other/Cargo.toml"), `version = "2.0.0"`, `version = "2.1.0"`)
		replaceIn(t, filepath.Join(ws, "crates/macros/Cargo.toml"), `version = "0.1.0"`, `version = "0.2.0"`)
		replaceIn(t, filepath.Join(ws, "crates/app/Cargo.toml"), `version = "0.1.0" }`, `version = "0.2.0" }`)
		c.run(t, ws, "update", "--workspace")
		if readFile(t, filepath.Join(ws, "Cargo.lock")) == lockBefore {
			t.Fatal("cargo update did not record the bumped versions: the scenario proves nothing")
		}
		if after := encoded(t, mustPlan(t, Options{Workspace: ws}).Recipe); !bytes.Equal(before, after) {
			t.Fatalf("version bump changed the recipe:\n%s", strings.Join(Changes(mustRecipe(t, before), mustRecipe(t, after)), "\n"))
		}
	})

	t.Run("adding an external dependency changes the recipe", func(t *testing.T) {
		ws := fixture(t, "simple")
		before := mustPlan(t, Options{Workspace: ws}).Recipe
		replaceIn(t, filepath.Join(ws, "Cargo.toml"), "itoa = \"1\"\n", "itoa = \"1\"\neither = \"1\"\n")
		c.run(t, ws, "generate-lockfile")
		changes := strings.Join(Changes(before, mustPlan(t, Options{Workspace: ws}).Recipe), "\n")
		for _, w := range []string{`dependency added: Cargo.toml: [dependencies] either = "1"`, "lockfile entry added: either 1.6.1"} {
			if !strings.Contains(changes, w) {
				t.Errorf("changes lack %q:\n%s", w, changes)
			}
		}
	})

	t.Run("a lockfile update changes the recipe", func(t *testing.T) {
		// Debian ships one itoa; a second, newer copy makes `cargo update
		// --precise` meaningful.
		reg := t.TempDir()
		entries, err := os.ReadDir(debianRegistry)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := os.Symlink(filepath.Join(debianRegistry, e.Name()), filepath.Join(reg, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
		itoa, _ := filepath.Glob(filepath.Join(debianRegistry, "itoa-1.*"))
		newer := filepath.Join(reg, "itoa-1.0.99")
		copyTree(t, itoa[0], newer)
		manifest := readFile(t, filepath.Join(newer, "Cargo.toml"))
		oldVersion := strings.TrimPrefix(filepath.Base(itoa[0]), "itoa-")
		writeFile(t, filepath.Join(newer, "Cargo.toml"), strings.Replace(manifest, `version = "`+oldVersion+`"`, `version = "1.0.99"`, 1))
		writeFile(t, filepath.Join(newer, ".cargo-checksum.json"), `{"package":"0000000000000000000000000000000000000000000000000000000000000099","files":{}}`)
		c2 := newCargoEnv(t, reg)

		ws := fixture(t, "simple")
		before := mustPlan(t, Options{Workspace: ws}).Recipe
		c2.run(t, ws, "update", "-p", "itoa", "--precise", "1.0.99")
		changes := strings.Join(Changes(before, mustPlan(t, Options{Workspace: ws}).Recipe), "\n")
		if want := "lockfile entry changed: itoa " + oldVersion + " -> 1.0.99"; !strings.Contains(changes, want) {
			t.Fatalf("changes lack %q:\n%s", want, changes)
		}
	})
}

func mustRecipe(t *testing.T, b []byte) *Recipe {
	t.Helper()
	var r Recipe
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}
