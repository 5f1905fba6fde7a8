package pipeline

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/provenance"
	"github.com/muslrust-chef/muslrust-chef/pkg/sbom"
	"github.com/muslrust-chef/muslrust-chef/pkg/slim"
)

// rust:slim without -bin after rust:build: the records beside the binary
// and the build step's dot directory are not binaries.
func TestInferBinSkipsRecords(t *testing.T) {
	dist := t.TempDir()
	ps := []platform.Platform{amd64(), arm64()}
	write := func(names ...string) {
		for _, p := range ps {
			for _, n := range names {
				path := filepath.Join(dist, p.DistDir(), n)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	write("app", "app.cdx.json", "app.spdx.json", "app.provenance.json", ".muslrust-chef/metadata.json", ".muslrust-chef/Cargo.lock")
	if bin, err := InferBin(dist, ps); err != nil || bin != "app" {
		t.Fatalf("InferBin = %q, %v; want app", bin, err)
	}
	// A record file without its binary is a file like any other.
	write("tool.cdx.json")
	if _, err := InferBin(dist, ps); err == nil || !strings.Contains(err.Error(), "app, tool.cdx.json") {
		t.Fatalf("InferBin with a stray record: %v", err)
	}
	write("tool", "tool.provenance.json")
	if _, err := InferBin(dist, ps); err == nil || !strings.Contains(err.Error(), "several binaries") || !strings.Contains(err.Error(), "(app, tool)") {
		t.Fatalf("InferBin with two binaries: %v", err)
	}
}

// The subject is the repository as written: no tag, no digest, no
// default registry added; the binary's name without an image.
func TestSubjectName(t *testing.T) {
	for image, want := range map[string]string{
		"":                                 "app",
		"app":                              "app",
		"app:1.2":                          "app",
		"127.0.0.1:5123/team/app":          "127.0.0.1:5123/team/app",
		"127.0.0.1:5123/team/app:v1":       "127.0.0.1:5123/team/app",
		"registry.example/app@sha256:0123": "registry.example/app",
	} {
		if got := subjectName(image, "app"); got != want {
			t.Errorf("subjectName(%q) = %q, want %q", image, got, want)
		}
	}
}

// debianCrates is the host's crate directory source (scripts/provision.d/rust-crates.sh).
const debianCrates = "/usr/share/cargo/registry"

// The records stage on what the build step's snippet writes, run here
// with the host's real cargo and sh instead of inside BuildKit: the three
// documents land beside the binary and equal the artifacts handed to
// publish, keyed by the platform manifest; the SBOM lists the linked
// crate; the provenance names the repository as written, the manifest,
// the toolchain the step recorded and an unknown cook outcome as not
// reused; the same inputs give the same bytes; rust:slim still infers the
// binary; without the SBOM only the provenance is written; a tar output
// gets copies beside the archive; a missing record says what to do.
func TestRecordsFromTheBuildStepsRecords(t *testing.T) {
	sh := testinfra.Tool(t, "sh")
	cargoBin := testinfra.Tool(t, "cargo")
	rustcBin := testinfra.Tool(t, "rustc")
	if m, _ := filepath.Glob(filepath.Join(debianCrates, "itoa-*")); len(m) == 0 {
		testinfra.Missing(t, "Debian crate itoa in "+debianCrates, "run: sudo scripts/provision.d/rust-crates.sh")
	}
	ws := t.TempDir()
	home := t.TempDir()
	files := map[string]string{
		filepath.Join(home, "config.toml"): "[source.crates-io]\nreplace-with = \"local\"\n\n[source.local]\ndirectory = \"" + debianCrates + "\"\n\n[net]\noffline = true\n",
		filepath.Join(ws, "Cargo.toml"):    "[package]\nname = \"app\"\nversion = \"1.0.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n\n[dependencies]\nitoa = \"1\"\n",
		filepath.Join(ws, "src/main.rs"):   "fn main() { println!(\"{}\", itoa::Buffer::new().format(1)); }\n",
	}
	for path, body := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "CARGO_HOME="+home, "CARGO_TERM_COLOR=never", "PATH="+filepath.Dir(cargoBin)+":"+filepath.Dir(rustcBin)+":"+os.Getenv("PATH"))
	lock := exec.Command(cargoBin, "generate-lockfile", "--offline")
	lock.Dir, lock.Env = ws, env
	if out, err := lock.CombinedOutput(); err != nil {
		t.Fatalf("cargo generate-lockfile: %v\n%s", err, out)
	}
	amd := amd64()
	c := &Config{Spec: buildspec.Spec{Workspace: ws, PlanDir: filepath.Join(t.TempDir(), "plan"), Dist: filepath.Join(ws, "dist"), Bin: "app", Package: "app",
		Platforms: []platform.Platform{amd}, Profile: "release", Locked: true, Strip: true, Image: "127.0.0.1:5999/team/app:1.0"}}
	ctx := context.Background()
	planned, err := plan(ctx, planIn{Config: c, What: "cook", Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	planned.Platforms = c.Platforms
	slot := filepath.Join(c.Dist, amd.DistDir())
	sn, err := recordsSnippet(c.Flags(amd, "musl", ""), false, filepath.Join(slot, app.RecordsDir))
	if err != nil {
		t.Fatal(err)
	}
	step := exec.Command(sh, "-c", `set -eu; eval "$1"; muslrust_chef_records`, "sh", sn)
	step.Dir, step.Env = ws, env
	if out, err := step.CombinedOutput(); err != nil {
		t.Fatalf("the records snippet: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(slot, "app"), []byte("not really an ELF: records hash it, nothing more"), 0o755); err != nil {
		t.Fatal(err)
	}
	idx, err := slim.Build(slim.Base{}, "app", []slim.Binary{{Platform: amd, Path: filepath.Join(slot, "app")}})
	if err != nil {
		t.Fatal(err)
	}
	manifests, err := manifestsByPlatform(idx)
	if err != nil {
		t.Fatal(err)
	}
	s := &Solved{Strategy: StrategyEmulate, Builder: &builder.Builder{Ref: "reg.example/builder:1", Pinned: "reg.example/builder@sha256:" + strings.Repeat("ab", 32),
		Libc: map[platform.Platform]string{amd: "musl"}, RustFlags: map[platform.Platform]string{}}}
	in := recordsIn{Config: c, Planned: planned, Solved: s, Index: idx, Subject: subjectName(c.Image, c.Bin),
		Labels: slim.Labels{Source: "https://git.example/team/app", Revision: "0123abc"}, KitVersion: "1.2.3", Log: io.Discard}
	out, err := records(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ByPlatform) != 1 || len(out.Referrers) != 1 {
		t.Fatalf("records for %d platforms, referrers on %d manifests", len(out.ByPlatform), len(out.Referrers))
	}
	pr := out.ByPlatform[0]
	manifest := manifests[amd.String()]
	wantFiles := []string{filepath.Join(slot, "app.cdx.json"), filepath.Join(slot, "app.spdx.json"), filepath.Join(slot, "app.provenance.json")}
	if pr.Manifest != manifest || strings.Join(pr.Files, " ") != strings.Join(wantFiles, " ") {
		t.Fatalf("manifest %s files %v, want %s %v", pr.Manifest, pr.Files, manifest, wantFiles)
	}
	arts := out.Referrers[manifest]
	wantTypes := []string{sbom.MediaTypeCycloneDX, sbom.MediaTypeSPDX, provenance.MediaType}
	if len(arts) != 3 {
		t.Fatalf("artifacts %v", arts)
	}
	for i, a := range arts {
		b, err := os.ReadFile(wantFiles[i])
		if err != nil || a.ArtifactType != wantTypes[i] || a.Title != filepath.Base(wantFiles[i]) || string(b) != string(a.Data) {
			t.Errorf("artifact %d: type %s title %s, file %v equal %t", i, a.ArtifactType, a.Title, err, string(b) == string(a.Data))
		}
	}
	if arts[2].Annotations[provenance.AnnotationPredicateType] != provenance.PredicateType {
		t.Errorf("provenance annotations %v", arts[2].Annotations)
	}
	doc, err := sbom.ReadCycloneDX(pr.CycloneDX)
	if err != nil {
		t.Fatal(err)
	}
	var crates []string
	for _, cr := range doc.Crates {
		crates = append(crates, cr.Name)
	}
	if strings.Join(crates, ",") != "itoa" || doc.Triple != "x86_64-unknown-linux-musl" || doc.Root.Source.Commit != "0123abc" {
		t.Errorf("SBOM: crates %v, triple %q, root %+v", crates, doc.Triple, doc.Root.Source)
	}
	rec, err := provenance.Parse(pr.Provenance)
	if err != nil {
		t.Fatal(err)
	}
	rustcV, err := exec.Command(rustcBin, "-V").Output()
	if err != nil {
		t.Fatal(err)
	}
	if rec.Subject.Name != "127.0.0.1:5999/team/app" || rec.Subject.Digest != manifest.String() || rec.Cook.Reused || rec.Cook.Key == nil ||
		rec.Cook.Key.Toolchain != strings.TrimSpace(string(rustcV)) || rec.Builder.Image == nil || rec.Builder.Image.Digest != "sha256:"+strings.Repeat("ab", 32) ||
		rec.KitVersion != "1.2.3" || rec.Source == nil || rec.Source.Revision != "0123abc" || rec.Cargo.Flags.Triple != "x86_64-unknown-linux-musl" {
		t.Errorf("provenance record %+v (cook %+v)", rec, rec.Cook)
	}
	again, err := records(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if a := again.ByPlatform[0]; string(a.CycloneDX) != string(pr.CycloneDX) || string(a.SPDX) != string(pr.SPDX) || string(a.Provenance) != string(pr.Provenance) {
		t.Error("the same inputs gave other documents")
	}
	if bin, err := InferBin(c.Dist, c.Platforms); err != nil || bin != "app" {
		t.Errorf("InferBin beside the records: %q, %v", bin, err)
	}

	archive := filepath.Join(t.TempDir(), "app.tar")
	beside, err := out.besideArchive(archive)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range []string{archive + ".cdx.json", archive + ".spdx.json", archive + ".provenance.json"} {
		if b, err := os.ReadFile(f); err != nil || i >= len(beside) || beside[i] != f || string(b) != string(arts[i].Data) {
			t.Errorf("beside the archive: %s: %v (written %v)", f, err, beside)
		}
	}

	noSBOM := *c
	noSBOM.NoSBOM = true
	in.Config = &noSBOM
	for _, f := range wantFiles {
		os.Remove(f)
	}
	out, err = records(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if pr := out.ByPlatform[0]; len(pr.Artifacts) != 1 || pr.Artifacts[0].ArtifactType != provenance.MediaType || pr.CycloneDX != nil || len(pr.Files) != 1 {
		t.Errorf("without the SBOM: artifacts %d, files %v", len(pr.Artifacts), pr.Files)
	}
	if _, err := os.Stat(wantFiles[0]); !os.IsNotExist(err) {
		t.Errorf("without the SBOM, %s: %v", wantFiles[0], err)
	}

	if err := os.Remove(filepath.Join(slot, app.RecordsDir, app.RecordRustc)); err != nil {
		t.Fatal(err)
	}
	if _, err := records(ctx, in); err == nil || !strings.Contains(err.Error(), "wrote no rustc.txt") {
		t.Errorf("a missing rustc.txt: %v", err)
	}

	// Two platforms, the second without its rustc.txt: the first one's
	// documents are not written either, and the result lists none.
	if err := os.WriteFile(filepath.Join(slot, app.RecordsDir, app.RecordRustc), []byte("rustc 1.63.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range wantFiles {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	arm := arm64()
	armSlot := filepath.Join(c.Dist, arm.DistDir())
	if err := os.MkdirAll(filepath.Join(armSlot, app.RecordsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(armSlot, "app"), []byte("not an ELF either"), 0o755); err != nil {
		t.Fatal(err)
	}
	two, err := slim.Build(slim.Base{}, "app", []slim.Binary{{Platform: amd, Path: filepath.Join(slot, "app")}, {Platform: arm, Path: filepath.Join(armSlot, "app")}})
	if err != nil {
		t.Fatal(err)
	}
	both := *c
	both.Platforms = []platform.Platform{amd, arm}
	bothPlanned := planned
	bothPlanned.Platforms = both.Platforms
	bothSolved := *s
	bothSolved.Builder = &builder.Builder{Ref: s.Builder.Ref, Pinned: s.Builder.Pinned, Libc: map[platform.Platform]string{amd: "musl", arm: "musl"}, RustFlags: map[platform.Platform]string{}}
	in2 := in
	in2.Config, in2.Planned, in2.Solved, in2.Index = &both, bothPlanned, &bothSolved, two
	out, err = records(ctx, in2)
	if err == nil || !strings.Contains(err.Error(), "wrote no rustc.txt") {
		t.Errorf("arm64 without rustc.txt: %v", err)
	}
	if len(out.ByPlatform) != 0 || len(out.files()) != 0 {
		t.Errorf("a failed records stage lists %v", out.files())
	}
	for _, f := range wantFiles {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("linux/amd64's %s was written although linux/arm64 could not be recorded (%v)", filepath.Base(f), err)
		}
	}
}
