package sbom

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
)

// A resolve with what the real-cargo fixture cannot have offline: a git
// dependency, a proc-macro and its dependency, and two crates of the same
// name and version from two sources. The shape is cargo metadata's
// (format-version 1, cargo >= 1.77 package ids).
const syntheticMetadata = `{
 "packages": [
  {"id": "path+file:///w#app@1.0.0", "name": "app", "version": "1.0.0", "source": null, "license": "MIT", "manifest_path": "/w/Cargo.toml",
   "targets": [{"name": "app", "kind": ["bin"]}, {"name": "tool", "kind": ["bin"]}]},
  {"id": "git+https://ci:t0ken@git.example/dep.git?branch=main#0123456789abcdef0123456789abcdef01234567", "name": "dep", "version": "0.1.0",
   "source": "git+https://ci:t0ken@git.example/dep.git?branch=main#0123456789abcdef0123456789abcdef01234567", "license": null, "manifest_path": "/g/dep/Cargo.toml",
   "targets": [{"name": "dep", "kind": ["lib"]}]},
  {"id": "registry+https://reg.example/index#dep@0.1.0", "name": "dep", "version": "0.1.0", "source": "registry+https://reg.example/index", "license": "Apache-2.0", "manifest_path": "/r/dep-0.1.0/Cargo.toml",
   "targets": [{"name": "dep", "kind": ["lib"]}]},
  {"id": "registry+https://reg.example/index#derive@2.0.0", "name": "derive", "version": "2.0.0", "source": "registry+https://reg.example/index", "license": "MIT", "manifest_path": "/r/derive-2.0.0/Cargo.toml",
   "targets": [{"name": "derive", "kind": ["proc-macro"]}]},
  {"id": "registry+https://reg.example/index#syn@3.0.0", "name": "syn", "version": "3.0.0", "source": "registry+https://reg.example/index", "license": "MIT", "manifest_path": "/r/syn-3.0.0/Cargo.toml",
   "targets": [{"name": "syn", "kind": ["lib"]}]},
  {"id": "registry+https://reg.example/index#testonly@1.0.0", "name": "testonly", "version": "1.0.0", "source": "registry+https://reg.example/index", "license": "MIT", "manifest_path": "/r/testonly-1.0.0/Cargo.toml",
   "targets": [{"name": "testonly", "kind": ["lib"]}]}
 ],
 "workspace_members": ["path+file:///w#app@1.0.0"],
 "workspace_root": "/w",
 "resolve": {"root": "path+file:///w#app@1.0.0", "nodes": [
  {"id": "path+file:///w#app@1.0.0", "deps": [
    {"name": "dep", "pkg": "git+https://ci:t0ken@git.example/dep.git?branch=main#0123456789abcdef0123456789abcdef01234567", "dep_kinds": [{"kind": null, "target": null}]},
    {"name": "dep2", "pkg": "registry+https://reg.example/index#dep@0.1.0", "dep_kinds": [{"kind": null, "target": null}]},
    {"name": "derive", "pkg": "registry+https://reg.example/index#derive@2.0.0", "dep_kinds": [{"kind": null, "target": null}]},
    {"name": "testonly", "pkg": "registry+https://reg.example/index#testonly@1.0.0", "dep_kinds": [{"kind": "dev", "target": null}]}
  ]},
  {"id": "git+https://ci:t0ken@git.example/dep.git?branch=main#0123456789abcdef0123456789abcdef01234567", "deps": []},
  {"id": "registry+https://reg.example/index#dep@0.1.0", "deps": []},
  {"id": "registry+https://reg.example/index#derive@2.0.0", "deps": [
    {"name": "syn", "pkg": "registry+https://reg.example/index#syn@3.0.0", "dep_kinds": [{"kind": null, "target": null}]}
  ]},
  {"id": "registry+https://reg.example/index#syn@3.0.0", "deps": []},
  {"id": "registry+https://reg.example/index#testonly@1.0.0", "deps": []}
 ]}
}`

const syntheticLock = `version = 3

[[package]]
name = "app"
version = "1.0.0"

[[package]]
name = "dep"
version = "0.1.0"
source = "git+https://ci:t0ken@git.example/dep.git?branch=main#0123456789abcdef0123456789abcdef01234567"

[[package]]
name = "dep"
version = "0.1.0"
source = "registry+https://reg.example/index"
checksum = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

[[package]]
name = "derive"
version = "2.0.0"
source = "registry+https://reg.example/index"
checksum = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
`

func TestResolveGitProcMacroAndDuplicates(t *testing.T) {
	s, err := Resolve([]byte(syntheticMetadata), []byte(syntheticLock), WithBinary("tool"), WithBuildTools(true), WithTriple("x86_64-unknown-linux-musl"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Binary != "tool" {
		t.Errorf("binary = %q", s.Binary)
	}
	if len(s.Crates) != 2 || s.Crates[0].Name != "dep" || s.Crates[1].Name != "dep" {
		t.Fatalf("linked = %+v, want the two dep crates (the proc-macro and the dev-dependency are not linked)", s.Crates)
	}
	git, reg := s.Crates[0], s.Crates[1]
	if git.Source != (Source{Kind: SourceGit, URL: "https://git.example/dep.git", Commit: "0123456789abcdef0123456789abcdef01234567"}) || git.SHA256 != "" {
		t.Errorf("git crate = %+v", git)
	}
	if reg.Source.Kind != SourceRegistry || reg.SHA256 != strings.Repeat("a", 64) || reg.License != "Apache-2.0" {
		t.Errorf("registry crate = %+v", reg)
	}
	if git.Ref() == reg.Ref() {
		t.Errorf("two crates share the ref %s", git.Ref())
	}
	if got := names(s.BuildTools); strings.Join(got, ",") != "derive,syn" {
		t.Errorf("build tools = %v, want the proc-macro and its dependency", got)
	}

	cdxDoc, err := s.CycloneDX()
	if err != nil {
		t.Fatal(err)
	}
	schema := cycloneDXSchema(t)
	validateCycloneDX(t, schema, cdxDoc)
	spdxDoc, err := s.SPDX()
	if err != nil {
		t.Fatal(err)
	}
	validateSPDX(t, spdxDoc)
	if !strings.Contains(string(spdxDoc), `"downloadLocation": "git+https://git.example/dep.git@0123456789abcdef0123456789abcdef01234567"`) {
		t.Errorf("SPDX git download location missing:\n%s", spdxDoc)
	}
	if strings.Contains(string(cdxDoc), "testonly") || strings.Contains(string(spdxDoc), "testonly") {
		t.Error("dev-dependency in a document")
	}

	back, err := ReadCycloneDX(cdxDoc)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := back.CycloneDX(); err != nil || !bytes.Equal(again, cdxDoc) {
		t.Errorf("git/duplicate/proc-macro document changed when read back and rendered again (%v)", err)
	}
	var table bytes.Buffer
	if err := back.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "git https://git.example/dep.git@0123456789ab") {
		t.Errorf("table lacks the git source:\n%s", table.String())
	}
	t.Logf("table:\n%s", table.String())

	// The schema validation catches what this package must never write:
	// Debian's placeholder text where a SHA-256 belongs.
	broken := bytes.Replace(cdxDoc, []byte(strings.Repeat("a", 64)), []byte("Could not get crate checksum"), 1)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(broken))
	if err != nil {
		t.Fatal(err)
	}
	if schema.Validate(inst) == nil {
		t.Error("the CycloneDX schema accepted a non-hex SHA-256")
	}
}

func TestResolveErrors(t *testing.T) {
	md := []byte(syntheticMetadata)
	lock := []byte(syntheticLock)
	multiMember := []byte(strings.Replace(strings.Replace(syntheticMetadata,
		`"workspace_members": ["path+file:///w#app@1.0.0"]`, `"workspace_members": ["path+file:///w#app@1.0.0", "path+file:///w/lib2#lib2@1.0.0"]`, 1),
		`"packages": [`, `"packages": [{"id": "path+file:///w/lib2#lib2@1.0.0", "name": "lib2", "version": "1.0.0", "manifest_path": "/w/lib2/Cargo.toml", "targets": [{"name": "lib2", "kind": ["lib"]}]},`, 1))
	// The binary alone finds its package, as cargo build --bin does.
	if s, err := Resolve(multiMember, lock, WithBinary("tool")); err != nil || s.Root.Name != "app" {
		t.Errorf("WithBinary(tool) in a two-member workspace: %v", err)
	}
	cases := []struct {
		name string
		md   []byte
		opts []Option
		want string
	}{
		{"two binaries", md, nil, "package app has 2 binaries (app, tool): name one (WithBinary)"},
		{"unknown binary", md, []Option{WithBinary("nope")}, `package app has no binary "nope" (binaries: app, tool): name one of them`},
		{"unknown package", md, []Option{WithPackage("other")}, `package "other" is not a workspace member (members: app): name one of them`},
		{"no deps", []byte(`{"packages":[{"id":"x","name":"x","version":"1.0.0"}],"workspace_members":["x"],"workspace_root":"/w","resolve":null}`), nil, "no resolve graph: run cargo metadata without --no-deps"},
		{"no such binary anywhere", multiMember, []Option{WithBinary("nope")}, `no workspace package has a binary "nope" (members: app, lib2): name an existing binary`},
		{"two members, no name", multiMember, nil, "the workspace has 2 packages (app, lib2): name the binary's package (WithPackage)"},
		{"not json", []byte("warning: foo"), nil, "cargo metadata output is not JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Resolve(tc.md, lock, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line containing %q", err, tc.want)
			}
		})
	}
	if _, err := Resolve(md, []byte("[[package]\n"), WithBinary("app")); err == nil || !strings.Contains(err.Error(), "Cargo.lock") {
		t.Errorf("broken Cargo.lock: err = %v", err)
	}
}

func TestMetadataArgs(t *testing.T) {
	args, err := MetadataArgs(cargo.Flags{Triple: "aarch64-unknown-linux-musl", Package: "app", Features: []string{"fast", "helper/x", "dep:memchr"}, NoDefaultFeatures: true, Locked: true, Profile: "release"})
	if err != nil {
		t.Fatal(err)
	}
	want := "metadata --format-version 1 --filter-platform aarch64-unknown-linux-musl --no-default-features --features app/fast,helper/x,dep:memchr --locked"
	if got := strings.Join(args, " "); got != want {
		t.Errorf("args = %s\nwant   %s", got, want)
	}
	tree, err := TreeArgs(cargo.Flags{Triple: "aarch64-unknown-linux-musl", Package: "app", Features: []string{"fast"}, AllFeatures: true, Locked: true})
	if err != nil {
		t.Fatal(err)
	}
	want = "tree -e normal --target aarch64-unknown-linux-musl -p app --prefix none --format {p} --all-features --features fast --locked"
	if got := strings.Join(tree, " "); got != want {
		t.Errorf("tree args = %s\nwant        %s", got, want)
	}
	if _, err := TreeArgs(cargo.Flags{Triple: "aarch64-unknown-linux-musl"}); err == nil || !strings.Contains(err.Error(), "cargo tree needs the binary's package") {
		t.Errorf("tree without package: err = %v", err)
	}
	for _, bad := range []string{"", "app\nnot a line\n"} {
		if _, err := Resolve([]byte(syntheticMetadata), []byte(syntheticLock), WithBinary("app"), WithCargoTree([]byte(bad))); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("cargo tree output %q: err = %v, want one line", bad, err)
		}
	}
	if _, err := MetadataArgs(cargo.Flags{}); err == nil || !strings.Contains(err.Error(), "target triple is empty") {
		t.Errorf("empty triple: err = %v", err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out", "app.cdx.json")
	if err := WriteFile(p, []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "{}\n" {
		t.Fatalf("read back %q, %v", b, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("leftovers beside the output: %v", entries)
	}
	// A directory in the way: an error, and the directory is untouched.
	blocked := filepath.Join(dir, "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(blocked, []byte("{}")); err == nil {
		t.Error("WriteFile over a directory succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("leftovers after a failed write: %v", entries)
	}
}
