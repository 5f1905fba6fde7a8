package chef

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// Workspace is a Cargo workspace read once: every local manifest, the
// lockfile and the workspace-wide files (cargo config, toolchain file).
// Listing its binaries and planning any of them reads no file again, so the
// configuration that picks the binary and the plan that narrows to it see
// the same workspace.
type Workspace struct {
	p    *planner
	lock doc // as read: every plan masks and trims a copy
	// Bin-independent parts of every recipe.
	outsideDirs  []string
	workspaceDir string
	configFile   *string
	toolchain    *ToolchainFile
}

// Bin is one binary target of a workspace member.
type Bin struct {
	Name    string
	Package string
	// Manifest is the member's Cargo.toml relative to the workspace root,
	// slash-separated.
	Manifest string
	abs      string // the member's directory, a key of planner.byDir
}

// Load reads the workspace in ws (the directory holding the root
// Cargo.toml; "" is the current directory) and checks everything that does
// not depend on the binary: manifests, members, path dependencies,
// Cargo.lock, and that no credentials sit in the workspace. It writes
// nothing.
func Load(ws string) (*Workspace, error) {
	if ws == "" {
		ws = "."
	}
	root, err := filepath.Abs(ws)
	if err != nil {
		return nil, err
	}
	p := &planner{root: root, shownRoot: ws, byDir: map[string]*manifest{}}
	rootManifest := filepath.Join(ws, "Cargo.toml")
	if _, err := os.Stat(filepath.Join(root, "Cargo.toml")); errors.Is(err, os.ErrNotExist) {
		return nil, option.Usagef("%s does not exist; point %s (or %s) at the directory holding the root Cargo.toml", rootManifest, option.Env(option.Workspace), option.Flag(option.Workspace))
	}
	rootDoc, err := readTOML(filepath.Join(root, "Cargo.toml"), rootManifest)
	if err != nil {
		return nil, err
	}
	p.rootDoc = rootDoc
	wsTable := table(rootDoc, "workspace")
	p.exclude = strList(wsTable["exclude"])

	var memberDirs []string
	if table(rootDoc, "package") != nil {
		memberDirs = append(memberDirs, ".")
	}
	if wsTable != nil {
		dirs, err := expandMembers(root, strList(wsTable["members"]), p.exclude)
		if err != nil {
			return nil, err
		}
		for _, d := range dirs {
			if d != "." || len(memberDirs) == 0 {
				memberDirs = append(memberDirs, d)
			}
		}
	}
	if _, err := p.load(root, true, false); err != nil {
		return nil, err
	}
	for _, d := range memberDirs {
		if _, err := p.load(filepath.Join(root, filepath.FromSlash(d)), true, false); err != nil {
			return nil, err
		}
	}
	if err := p.loadPatches(); err != nil {
		return nil, err
	}

	lockPath := filepath.Join(root, "Cargo.lock")
	if _, err := os.Stat(lockPath); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist; create it with `cargo generate-lockfile` in %s and commit it, so the cook resolves exactly the versions the build uses", filepath.Join(ws, "Cargo.lock"), ws)
	}
	lock, err := readTOML(lockPath, filepath.Join(ws, "Cargo.lock"))
	if err != nil {
		return nil, err
	}
	w := &Workspace{p: p, lock: lock}
	if err := w.layout(); err != nil {
		return nil, err
	}
	if err := w.readFiles(); err != nil {
		return nil, err
	}
	return w, nil
}

// layout finds every path crate outside the workspace root. The skeleton
// leaves room for every crate the real workspace loads, not only those of
// the narrowed binary, so that the skeleton and the build context put the
// workspace at the same place under /src.
func (w *Workspace) layout() error {
	depth := 0
	for _, m := range w.p.byDir {
		if strings.HasPrefix(m.rel, "..") {
			w.outsideDirs = append(w.outsideDirs, m.rel)
			if d := outsideDepth(m.rel); d > depth {
				depth = d
			}
		}
	}
	sort.Strings(w.outsideDirs)
	if depth > 0 {
		parts := strings.Split(filepath.ToSlash(w.p.root), "/")
		if depth >= len(parts) {
			return fmt.Errorf("a path dependency reaches %d levels above %s, past the filesystem root; fix its path", depth, w.p.root)
		}
		w.workspaceDir = path.Join(parts[len(parts)-depth:]...)
	}
	return nil
}

// readFiles reads the cargo config and toolchain file the recipe carries and
// refuses credentials kept in the workspace.
func (w *Workspace) readFiles() error {
	p := w.p
	for _, name := range []string{".cargo/credentials.toml", ".cargo/credentials"} {
		if _, err := os.Stat(filepath.Join(p.root, filepath.FromSlash(name))); err == nil {
			return fmt.Errorf("%s holds cargo credentials inside the workspace, which is sent to BuildKit: move it out and set CARGO_REGISTRY_TOKEN or CARGO_REGISTRIES_<NAME>_TOKEN in the environment instead", path.Join(filepath.ToSlash(p.shownRoot), name))
		}
	}
	for _, name := range []string{".cargo/config.toml", ".cargo/config"} {
		if b, err := os.ReadFile(filepath.Join(p.root, filepath.FromSlash(name))); err == nil {
			shown := path.Join(filepath.ToSlash(p.shownRoot), name)
			if err := checkNoTokens(b, shown); err != nil {
				return err
			}
			s := string(b)
			w.configFile = &s
			break
		}
	}
	for _, tf := range []ToolchainFile{{Kind: "Toml"}, {Kind: "Bare"}} {
		if b, err := os.ReadFile(filepath.Join(p.root, tf.FileName())); err == nil {
			tf.Contents = string(b)
			w.toolchain = &tf
			break
		}
	}
	return nil
}

// Packages lists every local crate (members and path dependencies), sorted
// by directory: what Plan("") plans.
func (w *Workspace) Packages() []Package {
	var out []Package
	for _, m := range w.p.sorted(w.p.all()) {
		if m.name != "" {
			out = append(out, m.pkg())
		}
	}
	return out
}

// Bins lists the binary targets of the workspace's members, sorted by name
// (then manifest, when two members define the same name).
func (w *Workspace) Bins() []Bin {
	var out []Bin
	for _, m := range w.p.sorted(w.p.all()) {
		if !m.member {
			continue
		}
		for _, t := range m.targets {
			if t.Kind.Name == "Bin" {
				out = append(out, Bin{Name: t.Name, Package: m.name, Manifest: path.Join(m.rel, "Cargo.toml"), abs: m.abs})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Bin finds the member defining the binary called name; it fails when none
// or more than one does.
func (w *Workspace) Bin(name string) (Bin, error) {
	bins := w.Bins()
	var found []Bin
	names := make([]string, len(bins))
	for i, b := range bins {
		names[i] = b.Name
		if b.Name == name {
			found = append(found, b)
		}
	}
	switch len(found) {
	case 0:
		if len(names) == 0 {
			return Bin{}, fmt.Errorf("bin %q not found: the workspace has no binaries", name)
		}
		return Bin{}, fmt.Errorf("bin %q not found; known bins: %s", name, strings.Join(names, ", "))
	case 1:
		return found[0], nil
	}
	return Bin{}, fmt.Errorf("bin %q is defined by both %s and %s; rename one", name, found[0].Package, found[1].Package)
}
