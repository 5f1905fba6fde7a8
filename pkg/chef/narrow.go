package chef

import (
	"path/filepath"
	"sort"
	"strings"
)

// narrow keeps the members the binary of owner needs: its package and the
// closure of local path dependencies (dev ones too, because Cargo resolves
// dev dependencies of every member and would fail on a missing path). It
// rewrites [workspace] members, default-members and dependencies, and trims
// the lockfile, so unrelated members cannot invalidate the cook layer.
func (p *planner) narrow(owner *manifest, lock doc) map[string]bool {
	kept := map[string]bool{}
	var visit func(m *manifest)
	visit = func(m *manifest) {
		if kept[m.abs] {
			return
		}
		kept[m.abs] = true
		for _, d := range m.deps {
			visit(p.byDir[d])
		}
	}
	visit(owner)
	// The root manifest holds [workspace]; a root package is always a member,
	// so it and its dependencies stay.
	visit(p.byDir[p.root])
	for _, m := range p.byDir {
		if m.patched {
			kept[m.abs] = true
		}
	}

	// Rewrite the root manifest in place: it is re-encoded by build anyway.
	if ws := table(p.byDir[p.root].doc, "workspace"); ws != nil {
		var members []any
		keptRel := map[string]bool{}
		for dir := range kept {
			m := p.byDir[dir]
			if m.member && m.abs != p.root {
				members = append(members, m.rel)
				keptRel[m.rel] = true
			}
		}
		sort.Slice(members, func(i, j int) bool { return members[i].(string) < members[j].(string) })
		ws["members"] = members
		if dm, ok := ws["default-members"]; ok {
			var keep []any
			for _, d := range strList(dm) {
				if keptRel[filepath.ToSlash(filepath.Clean(d))] || d == "." {
					keep = append(keep, d)
				}
			}
			if len(keep) == 0 {
				delete(ws, "default-members")
			} else {
				ws["default-members"] = keep
			}
		}
		if wsDeps := table(ws, "dependencies"); wsDeps != nil {
			used := map[string]bool{}
			for dir := range kept {
				for _, t := range depTables(p.byDir[dir].doc) {
					for key, spec := range t.deps {
						if s, ok := spec.(map[string]any); ok && boolKey(s, "workspace", false) {
							used[key] = true
						}
					}
				}
			}
			for key := range wsDeps {
				if !used[key] {
					delete(wsDeps, key)
				}
			}
		}
	}

	var roots []string
	for dir := range kept {
		if m := p.byDir[dir]; m.name != "" {
			roots = append(roots, m.name)
		}
	}
	trimLock(lock, roots)
	return kept
}

// trimLock keeps the lockfile entries reachable from the given local crates.
func trimLock(lock doc, roots []string) {
	pkgs := tableList(lock["package"])
	byName := map[string][]int{}
	for i, pkg := range pkgs {
		byName[str(pkg, "name")] = append(byName[str(pkg, "name")], i)
	}
	// A dependency entry is "name", "name version" or "name version (source)".
	resolve := func(ref string) []int {
		fields := strings.Fields(ref)
		cands := byName[fields[0]]
		if len(fields) < 2 {
			return cands
		}
		var out []int
		for _, i := range cands {
			if str(pkgs[i], "version") != fields[1] {
				continue
			}
			if len(fields) > 2 && "("+str(pkgs[i], "source")+")" != fields[2] {
				continue
			}
			out = append(out, i)
		}
		return out
	}
	reach := map[int]bool{}
	var queue []int
	for _, r := range roots {
		for _, i := range byName[r] {
			if str(pkgs[i], "source") == "" && !reach[i] {
				reach[i] = true
				queue = append(queue, i)
			}
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, d := range strList(pkgs[i]["dependencies"]) {
			for _, j := range resolve(d) {
				if !reach[j] {
					reach[j] = true
					queue = append(queue, j)
				}
			}
		}
	}
	var out []any
	for i, pkg := range pkgs {
		if reach[i] {
			out = append(out, pkg)
		}
	}
	lock["package"] = out
}
