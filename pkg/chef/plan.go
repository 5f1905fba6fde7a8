package chef

import (
	"fmt"
	"maps"
	"path"
	"slices"
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

// NewPlan reads the workspace and computes its recipe. It writes nothing.
func NewPlan(opts Options) (*Plan, error) {
	w, err := Load(opts.Workspace)
	if err != nil {
		return nil, err
	}
	return w.Plan(opts.Bin)
}

// Plan computes the recipe of the whole workspace or, when bin is set, of
// the members that binary needs. It reads no file and leaves the Workspace
// as it was, so it can plan again.
func (w *Workspace) Plan(bin string) (*Plan, error) {
	lock := deepCopy(w.lock).(doc)
	p := w.p
	kept := p.all()
	if bin != "" {
		owner, err := w.Bin(bin)
		if err != nil {
			return nil, err
		}
		// narrow rewrites the root manifest's [workspace]: it gets its own copy.
		p = p.withOwnRoot()
		kept = p.narrow(p.byDir[owner.abs], lock)
	}
	return w.build(p, kept, lock)
}

// withOwnRoot returns a planner sharing every manifest but the root one,
// whose document is a deep copy.
func (p *planner) withOwnRoot() *planner {
	q := *p
	q.byDir = make(map[string]*manifest, len(p.byDir))
	for dir, m := range p.byDir {
		q.byDir[dir] = m
	}
	root := *p.byDir[p.root]
	root.doc = deepCopy(root.doc).(doc)
	q.byDir[p.root] = &root
	return &q
}

// build masks the kept manifests and the lockfile and assembles the recipe.
func (w *Workspace) build(p *planner, kept map[string]bool, lock doc) (*Plan, error) {
	ms := p.sorted(kept)
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

	plan := &Plan{Recipe: &Recipe{WorkspaceDir: w.workspaceDir}, OutsideDirs: append([]string(nil), w.outsideDirs...)}
	for _, m := range ms {
		masked := maskManifest(m, p.root, maskable)
		contents, err := marshalTOML(masked)
		if err != nil {
			return nil, fmt.Errorf("%s: re-encode manifest: %w", m.rel, err)
		}
		pkg := m.pkg()
		plan.Recipe.Skeleton.Manifests = append(plan.Recipe.Skeleton.Manifests, Manifest{RelativePath: path.Join(m.rel, "Cargo.toml"), Contents: contents, Targets: pkg.Targets})
		if m.name != "" {
			plan.Packages = append(plan.Packages, pkg)
		}
	}
	sort.Slice(plan.Recipe.Skeleton.Manifests, func(i, j int) bool {
		return plan.Recipe.Skeleton.Manifests[i].RelativePath < plan.Recipe.Skeleton.Manifests[j].RelativePath
	})

	maskLock(lock, patchedNames)
	for _, pkg := range tableList(lock["package"]) {
		if str(pkg, "source") != "" {
			plan.ExternalDeps++
		}
	}
	lockText, err := marshalTOML(lock)
	if err != nil {
		return nil, fmt.Errorf("Cargo.lock: re-encode: %w", err)
	}
	plan.Recipe.Skeleton.LockFile = &lockText
	if w.configFile != nil {
		s := *w.configFile
		plan.Recipe.Skeleton.ConfigFile = &s
	}
	if w.toolchain != nil {
		tf := *w.toolchain
		plan.Recipe.Skeleton.RustToolchainFile = &tf
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
	for _, name := range slices.Sorted(maps.Keys(regs)) {
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
