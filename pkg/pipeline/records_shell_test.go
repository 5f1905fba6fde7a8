package pipeline

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// The cook stages' instructions as issue 16 found them (testdata/cook-stages.pinned).
// The records go into the build stages only: the cook step's cache key
// (its ARGs, its RUN text) must not move, or every cook cache in every
// registry goes cold at the upgrade.
func TestRecordsArgsOnlyInBuildStages(t *testing.T) {
	var got []string
	for _, stage := range []string{app.StageCook, app.StageCrossCook} {
		ins, err := stageInstructions(app.Dockerfile, stage)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range ins {
			if f := strings.Fields(in); len(f) > 1 && strings.EqualFold(f[0], "ARG") && strings.Contains(f[1], "RECORDS") {
				t.Errorf("stage %s declares %s: the records args belong to the build stages only (they would change the cook cache key)", stage, f[1])
			}
		}
		got = append(got, ins...)
	}
	pinned, err := os.ReadFile(filepath.Join("testdata", "cook-stages.pinned"))
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(got, "\n") + "\n"; g != string(pinned) {
		t.Errorf("the cook stages of images/app/Dockerfile changed: every cook cache goes cold at the upgrade. If that is meant, update testdata/cook-stages.pinned and say so in the release notes. Now:\n%s", g)
	}
	for stage, args := range map[string][]string{
		app.StageBuild:      {app.ArgRecordsPrefix + "amd64", app.ArgRecordsPrefix + "arm64"},
		app.StageCrossBuild: {app.ArgCrossRecords},
	} {
		ins, err := stageInstructions(app.Dockerfile, stage)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(ins, "\n")
		for _, a := range args {
			if !strings.Contains(text, "ARG "+a+"\n") {
				t.Errorf("stage %s does not declare %s", stage, a)
			}
		}
		if !strings.Contains(text, "muslrust_chef_records") {
			t.Errorf("stage %s does not run the records", stage)
		}
	}
}

// The records snippet is real shell (dash): with stand-ins for cargo,
// rustc and cp that print what they get, it runs cargo metadata and cargo
// tree with the build's triple, features and RUSTFLAGS into the records
// directory, rustc -V and the lock copy after them, nothing leaks out, and
// a failing cargo stops it with the line run turns into the SBOM error.
func TestRecordsSnippetEvaluates(t *testing.T) {
	sh := testinfra.Tool(t, "sh")
	f := cargo.Flags{Profile: "release", Triple: "x86_64-unknown-linux-musl", TargetDir: "target", Package: "app", Bin: "app", Locked: true,
		Features: []string{"fmt", "dep/x"}, RustFlags: "-C target-feature=+crt-static -C link-arg='x y'", Strip: true}
	sn, err := recordsSnippet(f, false, "/out/.muslrust-chef")
	if err != nil {
		t.Fatal(err)
	}
	stub := `cargo() { printf '<%s>' "$@"; echo " RUSTFLAGS=${RUSTFLAGS-unset} ENCODED=${CARGO_ENCODED_RUSTFLAGS-unset} STRIP=${CARGO_PROFILE_RELEASE_STRIP-unset}"; [ "$1" != "${FAIL:-}" ]; }; ` +
		`rustc() { echo "rustc $*"; }; mkdir() { echo "mkdir $*" >&2; }; cp() { echo "cp $*" >&2; }; `
	run := func(sn string, env ...string) (string, error) {
		dir := t.TempDir()
		// Redirections write real files under dir: the records directory
		// is rewritten into it.
		sn = strings.ReplaceAll(sn, "'/out/", "'"+dir+"/out/")
		if err := os.MkdirAll(filepath.Join(dir, "out", ".muslrust-chef"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "out", "linux_amd64", ".muslrust-chef"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "out", "linux_arm64", ".muslrust-chef"), 0o755); err != nil {
			t.Fatal(err)
		}
		script := "set -eu; " + stub + `eval "$1"; muslrust_chef_records; echo "after: ${RUSTFLAGS-unset}"`
		cmd := exec.Command(sh, "-c", script, "sh", sn)
		cmd.Env = append(append(os.Environ(), "RUSTFLAGS=-C inherited", "CARGO_ENCODED_RUSTFLAGS=-Cinherited"), env...)
		out, err := cmd.CombinedOutput()
		var files []string
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				rel, _ := filepath.Rel(dir, p)
				files = append(files, rel+": "+string(b))
			}
			return nil
		})
		return strings.ReplaceAll(string(out), dir, "") + strings.Join(files, ""), err
	}
	out, err := run(sn)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	seen := " RUSTFLAGS=-C target-feature=+crt-static -C link-arg='x y' ENCODED=unset STRIP=symbols\n"
	want := "mkdir -p /out/.muslrust-chef\n" +
		"cp Cargo.lock /out/.muslrust-chef/Cargo.lock\n" +
		"after: -C inherited\n" +
		"out/.muslrust-chef/metadata.json: <metadata><--format-version><1><--filter-platform><x86_64-unknown-linux-musl><--features><app/fmt,dep/x><--locked>" + seen +
		"out/.muslrust-chef/rustc.txt: rustc -V\n" +
		"out/.muslrust-chef/tree.txt: <tree><-e><normal><--target><x86_64-unknown-linux-musl><-p><app><--prefix><none><--format><{p}><--features><fmt,dep/x><--locked>" + seen
	if out != want {
		t.Fatalf("sh printed\n%s\nwant\n%s", out, want)
	}

	out, err = run(sn, "FAIL=tree")
	if err == nil || !strings.Contains(out, "muslrust-chef: "+recordsFailed+"\n") || strings.Contains(out, "rustc -V") {
		t.Fatalf("a failing cargo tree: err %v, output\n%s", err, out)
	}
	if templateError(out) != recordsFailed {
		t.Fatalf("templateError(%q) = %q", out, templateError(out))
	}

	// Without the SBOM: only the toolchain and the lock.
	sn, err = recordsSnippet(f, true, "/out/.muslrust-chef")
	if err != nil {
		t.Fatal(err)
	}
	if out, err = run(sn); err != nil || strings.Contains(out, "<metadata>") || strings.Contains(out, "<tree>") || !strings.Contains(out, "rustc.txt: rustc -V") {
		t.Fatalf("no SBOM: err %v, output\n%s", err, out)
	}

	// cargo tree needs the binary's package: without one, metadata alone.
	np := f
	np.Package = ""
	sn, err = recordsSnippet(np, false, "/out/.muslrust-chef")
	if err != nil {
		t.Fatal(err)
	}
	if out, err = run(sn); err != nil || !strings.Contains(out, "<metadata>") || strings.Contains(out, "<tree>") {
		t.Fatalf("no package: err %v, output\n%s", err, out)
	}
}

// Cross: one subshell per triple, each with its own RUSTFLAGS and
// toolchain variables, plain cargo even with cargo-zigbuild, each into its
// platform's records directory.
func TestCrossRecordsSnippetEvaluates(t *testing.T) {
	sh := testinfra.Tool(t, "sh")
	f := func(triple, rustflags string) cargo.Flags {
		return cargo.Flags{Profile: "release", Triple: triple, TargetDir: "target", Package: "app", Bin: "app", RustFlags: rustflags}
	}
	targets := []Target{
		{Platform: amd64(), Flags: f("x86_64-unknown-linux-gnu", "-C target-feature=+crt-static"), Toolchain: builder.Toolchain{Cargo: builder.CargoZigbuild}},
		{Platform: arm64(), Flags: f("aarch64-unknown-linux-musl", "-C link-self-contained=no"), Toolchain: builder.Toolchain{Cargo: builder.CargoZigbuild, CC: "aarch64-linux-gnu-gcc"}},
	}
	sn, err := crossRecordsSnippet(targets, false, "/out")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sn, "zigbuild") {
		t.Fatalf("the records run cargo-zigbuild: %s", sn)
	}
	script := `set -eu; cargo() { echo "cargo $1 $5 RUSTFLAGS=${RUSTFLAGS-unset} CC=${CC_aarch64_unknown_linux_musl:-unset}"; }; rustc() { :; }; ` +
		`mkdir() { echo "mkdir $*"; }; cp() { echo "cp $*"; }; eval "$1"; ` +
		`muslrust_chef_records >/dev/null; muslrust_chef_records 2>&1 | grep -v '^$' || true; echo "after: ${CC_aarch64_unknown_linux_musl:-unset}"`
	dir := t.TempDir()
	sn = strings.ReplaceAll(sn, "'/out/", "'"+dir+"/")
	for _, p := range []string{"linux_amd64", "linux_arm64"} {
		if err := os.MkdirAll(filepath.Join(dir, p, app.RecordsDir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(sh, "-c", script, "sh", sn).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := strings.ReplaceAll(string(out), dir, "")
	want := "mkdir -p /linux_amd64/.muslrust-chef\ncp Cargo.lock /linux_amd64/.muslrust-chef/Cargo.lock\n" +
		"mkdir -p /linux_arm64/.muslrust-chef\ncp Cargo.lock /linux_arm64/.muslrust-chef/Cargo.lock\nafter: unset\n"
	if got != want {
		t.Fatalf("sh printed\n%s\nwant\n%s", got, want)
	}
	for p, line := range map[string]string{
		"linux_amd64": "cargo metadata x86_64-unknown-linux-gnu RUSTFLAGS=-C target-feature=+crt-static CC=unset\n",
		"linux_arm64": "cargo metadata aarch64-unknown-linux-musl RUSTFLAGS=-C link-self-contained=no CC=aarch64-linux-gnu-gcc\n",
	} {
		b, err := os.ReadFile(filepath.Join(dir, p, app.RecordsDir, app.RecordMetadata))
		if err != nil || string(b) != line {
			t.Errorf("%s metadata.json: %q, %v; want %q", p, b, err, line)
		}
		b, err = os.ReadFile(filepath.Join(dir, p, app.RecordsDir, app.RecordTree))
		if err != nil || !strings.HasPrefix(string(b), "cargo tree ") {
			t.Errorf("%s tree.txt: %q, %v", p, b, err)
		}
	}
}

// stageRunText is the shell of a Dockerfile stage's RUN step (its --mount
// flags left out).
func stageRunText(t *testing.T, stage string) string {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(app.Dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	cur := ""
	for _, n := range res.AST.Children {
		switch strings.ToLower(n.Value) {
		case "from":
			for c := n.Next; c != nil; c = c.Next {
				cur = c.Value
			}
		case "run":
			if cur != stage {
				continue
			}
			var words []string
			for c := n.Next; c != nil; c = c.Next {
				words = append(words, c.Value)
			}
			return strings.Join(words, " ")
		}
	}
	t.Fatalf("no RUN in stage %s", stage)
	return ""
}

// The build stage's RUN step as sh runs it, with a cargo that builds but
// cannot resolve the metadata (a dev-dependency the offline mirror lacks):
// the step copies the binary, then stops on the records with the
// template's line, and stepError makes of it one error quoting cargo and
// naming the SBOM knob. With the records working, the step writes them
// where the export picks them up.
func TestBuildStepRecordsAndTheirFailure(t *testing.T) {
	sh := testinfra.Tool(t, "sh")
	ws, out, bin := t.TempDir(), t.TempDir(), t.TempDir()
	f := cargo.Flags{Profile: "release", Triple: "x86_64-unknown-linux-musl", TargetDir: "target", Package: "app", Bin: "app", Locked: true}
	flags, err := snippet(f, nil, ws)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := recordsSnippet(f, false, app.OutDir+"/"+app.RecordsDir)
	if err != nil {
		t.Fatal(err)
	}
	fake := "#!/bin/sh\ncase \"$1\" in\n" +
		"build) mkdir -p target/x86_64-unknown-linux-musl/release && echo elf > target/x86_64-unknown-linux-musl/release/app ;;\n" +
		"metadata) [ -z \"${FAIL_METADATA:-}\" ] || { echo 'error: failed to download `serde_json v1.0.1`' >&2; exit 101; }; echo '{}' ;;\n" +
		"tree) echo 'app v1.0.0 (/src)' ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(bin, "cargo"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "rustc"), []byte("#!/bin/sh\necho 'rustc 1.63.0'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "Cargo.lock"), []byte("version = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The step writes to OutDir; here a temporary directory stands in.
	run := strings.ReplaceAll(stageRunText(t, app.StageBuild), app.OutDir, out)
	recs = strings.ReplaceAll(recs, app.OutDir, out)
	step := func(extra ...string) (string, error) {
		cmd := exec.Command(sh, "-c", run)
		cmd.Dir = ws
		cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin", "TARGETARCH=amd64", app.ArgFlagsPrefix + "amd64=" + flags, app.ArgRecordsPrefix + "amd64=" + recs}, extra...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if log, err := step(); err != nil {
		t.Fatalf("the build step: %v\n%s", err, log)
	}
	for name, want := range map[string]string{"app": "elf\n", app.RecordsDir + "/" + app.RecordMetadata: "{}\n", app.RecordsDir + "/" + app.RecordTree: "app v1.0.0 (/src)\n",
		app.RecordsDir + "/" + app.RecordRustc: "rustc 1.63.0\n", app.RecordsDir + "/" + app.RecordLock: "version = 3\n"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", name, b, err, want)
		}
	}

	log, err := step("FAIL_METADATA=1")
	if err == nil {
		t.Fatalf("the build step passed with a failing cargo metadata:\n%s", log)
	}
	vertex := "[linux/amd64 build 4/4] RUN set -eu; ..."
	res := &buildkit.Result{Vertexes: []buildkit.Vertex{{Name: vertex, Error: "process did not complete successfully: exit code: 1"}}}
	got := option.Render(stepError(errors.New("solve failed"), res, map[string]string{vertex: log}), func(r option.Ref) string {
		if r.Opt == buildspec.OptionSBOM {
			return "MUSLRUST_CHEF_SBOM"
		}
		return r.String()
	})
	want := "[linux/amd64 build 4/4] " + recordsFailed + ": error: failed to download `serde_json v1.0.1`: fix it, or set MUSLRUST_CHEF_SBOM to false to build without an SBOM"
	if got != want {
		t.Fatalf("error\n%s\nwant\n%s\n(step log:\n%s)", got, want, log)
	}
}
