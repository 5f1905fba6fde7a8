package chef

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

type manifest struct {
	abs, rel string // rel: directory relative to the workspace root
	doc      doc
	name     string // empty for a virtual manifest
	member   bool
	patched  bool     // target of [patch]/[replace]: its version must stay real
	deps     []string // abs dirs of local path dependencies
	targets  []Target
}

type planner struct {
	root, shownRoot string
	rootDoc         doc
	exclude         []string
	byDir           map[string]*manifest
}

// load reads the manifest in dir (once) and, recursively, its local path
// dependencies; those inside the workspace root become members as in Cargo.
func (p *planner) load(dir string, member, patched bool) (*manifest, error) {
	dir = filepath.Clean(dir)
	if m, ok := p.byDir[dir]; ok {
		m.member = m.member || member
		m.patched = m.patched || patched
		return m, nil
	}
	rel, err := filepath.Rel(p.root, dir)
	if err != nil {
		return nil, err
	}
	rel = filepath.ToSlash(rel)
	shown := path.Join(filepath.ToSlash(p.shownRoot), rel, "Cargo.toml")
	if _, err := os.Stat(filepath.Join(dir, "Cargo.toml")); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist; fix the path dependency or workspace member pointing at %s", shown, rel)
	}
	d, err := readTOML(filepath.Join(dir, "Cargo.toml"), shown)
	if err != nil {
		return nil, err
	}
	m := &manifest{abs: dir, rel: rel, doc: d, member: member, patched: patched}
	p.byDir[dir] = m
	pkg := table(d, "package")
	if pkg == nil {
		if dir != p.root {
			return nil, fmt.Errorf("%s has no [package] table; a member or path dependency must be a package", shown)
		}
		return m, nil
	}
	if m.name = str(pkg, "name"); m.name == "" {
		return nil, fmt.Errorf("%s: [package] has no name; add name = \"...\"", shown)
	}
	m.targets = discoverTargets(dir, d, p.edition(pkg))
	for _, depDir := range p.pathDeps(dir, d) {
		inside := !strings.HasPrefix(depDirRel(p.root, depDir), "..")
		dep, err := p.load(depDir, inside && !excluded(depDirRel(p.root, depDir), p.exclude), false)
		if err != nil {
			return nil, err
		}
		m.deps = append(m.deps, dep.abs)
	}
	return m, nil
}

func depDirRel(root, dir string) string {
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return dir
	}
	return filepath.ToSlash(rel)
}

// pathDeps lists the directories of every path dependency of a manifest, in
// every dependency table, following `workspace = true` into
// [workspace.dependencies] whose paths are relative to the root.
func (p *planner) pathDeps(dir string, d doc) []string {
	wsDeps := table(table(p.rootDoc, "workspace"), "dependencies")
	seen := map[string]bool{}
	var out []string
	for _, t := range depTables(d) {
		for _, key := range slices.Sorted(maps.Keys(t.deps)) {
			spec, _ := t.deps[key].(map[string]any)
			var abs string
			if pth := str(spec, "path"); pth != "" {
				abs = filepath.Join(dir, filepath.FromSlash(pth))
			} else if boolKey(spec, "workspace", false) {
				wsSpec, _ := wsDeps[key].(map[string]any)
				if pth := str(wsSpec, "path"); pth != "" {
					abs = filepath.Join(p.root, filepath.FromSlash(pth))
				}
			}
			if abs != "" && !seen[abs] {
				seen[abs] = true
				out = append(out, filepath.Clean(abs))
			}
		}
	}
	sort.Strings(out)
	return out
}

// loadPatches adds crates patched in by path: the skeleton needs their
// manifests, but their versions must stay real or the patch stops matching.
func (p *planner) loadPatches() error {
	var dirs []string
	for _, reg := range slices.Sorted(maps.Keys(table(p.rootDoc, "patch"))) {
		t, _ := table(p.rootDoc, "patch")[reg].(map[string]any)
		for _, key := range slices.Sorted(maps.Keys(t)) {
			spec, _ := t[key].(map[string]any)
			if pth := str(spec, "path"); pth != "" {
				dirs = append(dirs, filepath.Join(p.root, filepath.FromSlash(pth)))
			}
		}
	}
	repl := table(p.rootDoc, "replace")
	for _, key := range slices.Sorted(maps.Keys(repl)) {
		spec, _ := repl[key].(map[string]any)
		if pth := str(spec, "path"); pth != "" {
			dirs = append(dirs, filepath.Join(p.root, filepath.FromSlash(pth)))
		}
	}
	for _, d := range dirs {
		if _, err := p.load(d, false, true); err != nil {
			return err
		}
	}
	return nil
}

func (p *planner) edition(pkg doc) string {
	switch e := pkg["edition"].(type) {
	case string:
		return e
	case map[string]any:
		if boolKey(e, "workspace", false) {
			if s := str(table(table(p.rootDoc, "workspace"), "package"), "edition"); s != "" {
				return s
			}
		}
	}
	return "2015"
}

func (p *planner) all() map[string]bool {
	out := map[string]bool{}
	for dir := range p.byDir {
		out[dir] = true
	}
	return out
}

// sorted returns the manifests of the given directories by relative path.
func (p *planner) sorted(dirs map[string]bool) []*manifest {
	var ms []*manifest
	for dir := range dirs {
		ms = append(ms, p.byDir[dir])
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].rel < ms[j].rel })
	return ms
}

func (m *manifest) pkg() Package {
	targets := m.targets
	if targets == nil {
		targets = []Target{}
	}
	return Package{Name: m.name, Dir: m.rel, Member: m.member, Targets: targets}
}
