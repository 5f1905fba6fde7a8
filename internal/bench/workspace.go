package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

// Size is one of the benchmark's workspaces.
type Size string

const (
	// Small is about 15 crates: serde (derive), serde_json, cc.
	Small Size = "small"
	// Large is about 80 crates: Small plus regex, tokio (multi-thread
	// runtime, macros), clap (derive), anyhow, thiserror, log.
	Large Size = "large"
)

// Sizes are the workspaces in the order the table prints them.
var Sizes = []Size{Small, Large}

// ParseSizes reads a comma-separated list of sizes ("small,large"); empty
// means all.
func ParseSizes(s string) ([]Size, error) {
	if strings.TrimSpace(s) == "" {
		return Sizes, nil
	}
	var out []Size
	for _, f := range strings.Split(s, ",") {
		switch z := Size(strings.TrimSpace(f)); z {
		case Small, Large:
			out = append(out, z)
		default:
			return nil, fmt.Errorf("unknown workspace size %q: want small, large or both (small,large)", f)
		}
	}
	return out, nil
}

// Workspace is a generated benchmark workspace. Root holds the workspace
// (Root/ws) and a path dependency outside it (Root/shared/helper): the
// plain Dockerfile's build context is Root, as a hand-written Dockerfile
// needs a context holding both.
type Workspace struct {
	Size Size
	Root string
	// Dir is the Cargo workspace (Root/ws).
	Dir string
	// Bin is the binary the image ships; Bins are all of them.
	Bin  string
	Bins []string
	// EditFile holds EditMarker: Edit changes it (a one-line source edit).
	EditFile string
	edits    int
}

// EditMarker is the string Edit replaces in app's main.rs.
const EditMarker = "bench edit 0"

// Edit makes a one-line change to the shipped binary's source: the next
// build compiles app again and nothing else.
func (w *Workspace) Edit() error {
	b, err := os.ReadFile(w.EditFile)
	if err != nil {
		return err
	}
	old := fmt.Sprintf("bench edit %d", w.edits)
	if !bytes.Contains(b, []byte(old)) {
		return fmt.Errorf("%s does not contain %q", w.EditFile, old)
	}
	w.edits++
	return os.WriteFile(w.EditFile, bytes.Replace(b, []byte(old), []byte(fmt.Sprintf("bench edit %d", w.edits)), 1), 0o644)
}

// Generate writes the workspace of size z under root (without Cargo.lock:
// Lock makes it with the builder's own cargo). Its shape is what a team's
// repository looks like: glob members (crates/*), a workspace-inherited
// rust-version, two binaries, a library with serde derive, one with a cc
// build script compiling C, one with a renamed dependency
// (json = { package = "serde_json" }) and a path dependency outside the
// workspace (../shared/helper).
func Generate(root string, z Size) (*Workspace, error) {
	large := z == Large
	if z != Small && z != Large {
		return nil, fmt.Errorf("unknown workspace size %q", z)
	}
	ws := filepath.Join(root, "ws")
	files := map[string]string{
		"ws/Cargo.toml": `[workspace]
members = ["crates/*"]
resolver = "2"

[workspace.package]
version = "0.3.1"
edition = "2021"
rust-version = "1.63"
license = "MIT"

[workspace.dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = "1"
`,
		"ws/.dockerignore":            "target\n",
		".dockerignore":               PlainIgnore,
		"ws/crates/model/Cargo.toml":  member("model", "", "serde = { workspace = true }\n", ""),
		"ws/crates/model/src/lib.rs":  modelLib,
		"ws/crates/cbits/Cargo.toml":  member("cbits", `build = "build.rs"`, "", "[build-dependencies]\ncc = \"1\"\n"),
		"ws/crates/cbits/build.rs":    cbitsBuild,
		"ws/crates/cbits/csrc/mix.c":  cbitsC,
		"ws/crates/cbits/src/lib.rs":  cbitsLib,
		"ws/crates/util/Cargo.toml":   member("util", "", "json = { package = \"serde_json\", version = \"1\" }\nhelper = { path = \"../../../shared/helper\" }\nmodel = { path = \"../model\" }\n", ""),
		"ws/crates/util/src/lib.rs":   utilLib,
		"shared/helper/Cargo.toml":    "[package]\nname = \"helper\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n\n[dependencies]\n",
		"shared/helper/src/lib.rs":    helperLib,
		"ws/crates/app/Cargo.toml":    "",
		"ws/crates/app/src/main.rs":   "",
		"ws/crates/tool/Cargo.toml":   "",
		"ws/crates/tool/src/main.rs":  "",
		"ws/crates/app/src/banner.rs": "pub const BANNER: &str = \"muslrust-chef bench\";\n",
	}
	appDeps := "model = { path = \"../model\" }\nutil = { path = \"../util\" }\ncbits = { path = \"../cbits\" }\nserde_json = { workspace = true }\n"
	toolDeps := "model = { path = \"../model\" }\nserde = { workspace = true }\nserde_json = { workspace = true }\n"
	if large {
		appDeps += "tokio = { version = \"1\", features = [\"rt-multi-thread\", \"macros\", \"sync\", \"time\"] }\nregex = \"1\"\nanyhow = \"1\"\nlog = \"0.4\"\n"
		toolDeps += "clap = { version = \"4\", features = [\"derive\"] }\nthiserror = \"1\"\n"
		files["ws/crates/app/src/main.rs"] = appMainLarge
		files["ws/crates/tool/src/main.rs"] = toolMainLarge
	} else {
		files["ws/crates/app/src/main.rs"] = appMainSmall
		files["ws/crates/tool/src/main.rs"] = toolMainSmall
	}
	files["ws/crates/app/Cargo.toml"] = member("app", "", appDeps, "")
	files["ws/crates/tool/Cargo.toml"] = member("tool", "", toolDeps, "")
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(root, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(files[n]), 0o644); err != nil {
			return nil, err
		}
	}
	return &Workspace{Size: z, Root: root, Dir: ws, Bin: "app", Bins: []string{"app", "tool"},
		EditFile: filepath.Join(ws, "crates/app/src/main.rs")}, nil
}

func member(name, extra, deps, tail string) string {
	s := fmt.Sprintf("[package]\nname = %q\nversion.workspace = true\nedition.workspace = true\nrust-version.workspace = true\nlicense.workspace = true\n", name)
	if extra != "" {
		s += extra + "\n"
	}
	s += "\n[dependencies]\n" + deps
	if tail != "" {
		s += "\n" + tail
	}
	return s
}

// lockDockerfile runs the builder's cargo on the workspace (the context is
// the workspace's Root) and exports the Cargo.lock it wrote.
const lockDockerfile = `ARG BUILDER
FROM ${BUILDER} AS lock
COPY . /src/
WORKDIR /src/ws
RUN cargo generate-lockfile --offline
FROM scratch
COPY --from=lock /src/ws/Cargo.lock /Cargo.lock
`

// Lock writes w's Cargo.lock with the builder image's own cargo (the
// directory source of Debian's crates, the lockfile version that cargo
// writes) on BuildKit bk, and returns how many packages it locks.
func Lock(ctx context.Context, bk buildkit.Builder, builderRef string, w *Workspace) (int, error) {
	out, err := os.MkdirTemp("", "muslrust-chef-bench-lock-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(out)
	dest := filepath.Join(out, "out")
	if _, err := bk.Solve(ctx, buildkit.Request{ContextDir: w.Root, ContextExcludes: []string{"ws/target"}, DockerfileContent: []byte(lockDockerfile),
		BuildArgs: map[string]string{"BUILDER": builderRef}, Local: &buildkit.LocalOutput{Dir: dest}, Insecure: true}); err != nil {
		return 0, fmt.Errorf("cargo generate-lockfile in %s: %w", builderRef, err)
	}
	b, err := os.ReadFile(filepath.Join(dest, "Cargo.lock"))
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(w.Dir, "Cargo.lock"), b, 0o644); err != nil {
		return 0, err
	}
	return bytes.Count(b, []byte("[[package]]")), nil
}
