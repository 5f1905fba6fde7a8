package chef

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Options select what to plan.
type Options struct {
	// Workspace is the directory holding the root Cargo.toml.
	Workspace string
	// Bin, when set, narrows the recipe to the members that binary needs.
	Bin string
}

// Plan is a recipe plus what was learned while making it.
type Plan struct {
	Recipe *Recipe
	// Packages are the local crates (members and path dependencies), sorted
	// by directory: the crates the cook cleans and the build compiles.
	Packages []Package
	// ExternalDeps counts Cargo.lock entries that come from a registry or git.
	ExternalDeps int
	// OutsideDirs are the directories (relative to the workspace root,
	// slash-separated, starting with "..") of every path crate outside the
	// workspace that cargo loads for the whole workspace, not only for the
	// narrowed binary: the build stage compiles the real workspace, whose
	// other members' path dependencies must exist too. They and the
	// workspace are all the build context holds.
	OutsideDirs []string
}

// Package is one local crate of the plan.
type Package struct {
	Name string
	// Dir is relative to the workspace root, slash-separated; ".." when the
	// crate is a path dependency outside the workspace.
	Dir     string
	Member  bool
	Targets []Target
}

// TargetCounts counts targets by kind over all packages.
func (p *Plan) TargetCounts() map[string]int {
	out := map[string]int{}
	for _, pkg := range p.Packages {
		for _, t := range pkg.Targets {
			out[t.Kind.Name]++
		}
	}
	return out
}

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

// NewPlan reads the workspace and computes its recipe. It writes nothing.
func NewPlan(opts Options) (*Plan, error) {
	ws := opts.Workspace
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
		return nil, fmt.Errorf("%s does not exist; point MUSLRUST_CHEF_WORKSPACE (or -workspace) at the directory holding the root Cargo.toml", rootManifest)
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

	kept := p.all()
	if opts.Bin != "" {
		if kept, err = p.narrow(opts.Bin, lock); err != nil {
			return nil, err
		}
	}
	return p.build(kept, lock)
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
		for _, key := range sortedKeys(t.deps) {
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
	for _, reg := range sortedKeys(table(p.rootDoc, "patch")) {
		t, _ := table(p.rootDoc, "patch")[reg].(map[string]any)
		for _, key := range sortedKeys(t) {
			spec, _ := t[key].(map[string]any)
			if pth := str(spec, "path"); pth != "" {
				dirs = append(dirs, filepath.Join(p.root, filepath.FromSlash(pth)))
			}
		}
	}
	repl := table(p.rootDoc, "replace")
	for _, key := range sortedKeys(repl) {
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

// build masks the kept manifests and the lockfile and assembles the recipe.
func (p *planner) build(kept map[string]bool, lock doc) (*Plan, error) {
	var ms []*manifest
	for dir := range kept {
		ms = append(ms, p.byDir[dir])
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].rel < ms[j].rel })

	patchedNames := map[string]bool{}
	for _, m := range ms {
		if m.patched && m.name != "" {
			patchedNames[m.name] = true
		}
	}
	maskable := func(depAbs string) bool {
		m, ok := p.byDir[depAbs]
		return ok && !m.patched
	}

	plan := &Plan{Recipe: &Recipe{}}
	// The layout leaves room for every crate the real workspace loads, so
	// that the skeleton and the build context put the workspace at the
	// same place under /src.
	depth := 0
	for _, m := range p.byDir {
		if strings.HasPrefix(m.rel, "..") {
			plan.OutsideDirs = append(plan.OutsideDirs, m.rel)
			if d := outsideDepth(m.rel); d > depth {
				depth = d
			}
		}
	}
	sort.Strings(plan.OutsideDirs)
	for _, m := range ms {
		masked := maskManifest(m, p.root, maskable)
		contents, err := marshalTOML(masked)
		if err != nil {
			return nil, fmt.Errorf("%s: re-encode manifest: %v", m.rel, err)
		}
		targets := m.targets
		if targets == nil {
			targets = []Target{}
		}
		rel := path.Join(m.rel, "Cargo.toml")
		plan.Recipe.Skeleton.Manifests = append(plan.Recipe.Skeleton.Manifests, Manifest{RelativePath: rel, Contents: contents, Targets: targets})
		if m.name != "" {
			plan.Packages = append(plan.Packages, Package{Name: m.name, Dir: m.rel, Member: m.member, Targets: targets})
		}
	}
	sort.Slice(plan.Recipe.Skeleton.Manifests, func(i, j int) bool {
		return plan.Recipe.Skeleton.Manifests[i].RelativePath < plan.Recipe.Skeleton.Manifests[j].RelativePath
	})
	if depth > 0 {
		parts := strings.Split(filepath.ToSlash(p.root), "/")
		if depth >= len(parts) {
			return nil, fmt.Errorf("a path dependency reaches %d levels above %s, past the filesystem root; fix its path", depth, p.root)
		}
		plan.Recipe.WorkspaceDir = path.Join(parts[len(parts)-depth:]...)
	}

	maskLock(lock, patchedNames)
	for _, pkg := range tableList(lock["package"]) {
		if str(pkg, "source") != "" {
			plan.ExternalDeps++
		}
	}
	lockText, err := marshalTOML(lock)
	if err != nil {
		return nil, fmt.Errorf("Cargo.lock: re-encode: %v", err)
	}
	plan.Recipe.Skeleton.LockFile = &lockText

	for _, name := range []string{".cargo/credentials.toml", ".cargo/credentials"} {
		if _, err := os.Stat(filepath.Join(p.root, filepath.FromSlash(name))); err == nil {
			return nil, fmt.Errorf("%s holds cargo credentials inside the workspace, which is sent to BuildKit: move it out and set CARGO_REGISTRY_TOKEN or CARGO_REGISTRIES_<NAME>_TOKEN in the environment instead", path.Join(filepath.ToSlash(p.shownRoot), name))
		}
	}
	for _, name := range []string{".cargo/config.toml", ".cargo/config"} {
		if b, err := os.ReadFile(filepath.Join(p.root, filepath.FromSlash(name))); err == nil {
			shown := path.Join(filepath.ToSlash(p.shownRoot), name)
			if err := checkNoTokens(b, shown); err != nil {
				return nil, err
			}
			s := string(b)
			plan.Recipe.Skeleton.ConfigFile = &s
			break
		}
	}
	for _, tf := range []ToolchainFile{{Kind: "Toml"}, {Kind: "Bare"}} {
		if b, err := os.ReadFile(filepath.Join(p.root, tf.FileName())); err == nil {
			tf.Contents = string(b)
			plan.Recipe.Skeleton.RustToolchainFile = &tf
			break
		}
	}
	return plan, nil
}

// checkNoTokens refuses a registry token written in the workspace's cargo
// config: the file is part of the recipe, the skeleton and the build
// context, so the token would end up in layers and in the registry cache.
func checkNoTokens(b []byte, shown string) error {
	d, err := parseTOML(b, shown)
	if err != nil {
		return err
	}
	if _, ok := table(d, "registry")["token"]; ok {
		return fmt.Errorf("%s: [registry] token is written in the file, which is sent to BuildKit: remove it and set CARGO_REGISTRY_TOKEN in the environment (it reaches cargo as a BuildKit secret)", shown)
	}
	regs := table(d, "registries")
	for _, name := range sortedKeys(regs) {
		r, _ := regs[name].(map[string]any)
		if _, ok := r["token"]; ok {
			return fmt.Errorf("%s: [registries.%s] token is written in the file, which is sent to BuildKit: remove it and set %s in the environment (it reaches cargo as a BuildKit secret)", shown, name, RegistryTokenEnv(name))
		}
	}
	return nil
}

// RegistryTokenEnv is the environment variable cargo reads the token of
// the registry called name from: CARGO_REGISTRIES_<NAME>_TOKEN, with the
// name upper-cased and dashes turned into underscores.
func RegistryTokenEnv(name string) string {
	return "CARGO_REGISTRIES_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_TOKEN"
}
