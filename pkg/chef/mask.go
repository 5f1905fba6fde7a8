package chef

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// maskedVersion replaces every local crate version, as cargo-chef does, so
// bumping a member's version does not change the recipe (and the cook layer).
const maskedVersion = "0.0.1"

// maskManifest returns a copy of the manifest with local versions masked and
// lints dropped (lints never change which dependencies get compiled).
// maskable tells whether the crate at a path dependency's directory may be
// masked (crates patched in by path keep their versions).
func maskManifest(m *manifest, root string, maskable func(abs string) bool) doc {
	d := deepCopy(m.doc).(map[string]any)
	delete(d, "lints")
	if pkg := table(d, "package"); pkg != nil && !m.patched {
		if _, inherited := pkg["version"].(map[string]any); !inherited {
			// Also when absent (Cargo defaults to 0.0.0): the lockfile entry
			// is masked to 0.0.1 and both must agree.
			pkg["version"] = maskedVersion
		}
	}
	if ws := table(d, "workspace"); ws != nil {
		delete(ws, "lints")
		if wp := table(ws, "package"); wp != nil {
			if _, ok := wp["version"]; ok {
				wp["version"] = maskedVersion
			}
		}
		maskDeps(table(ws, "dependencies"), root, maskable)
	}
	for _, t := range depTables(d) {
		maskDeps(t.deps, m.abs, maskable)
	}
	return d
}

func maskDeps(deps doc, base string, maskable func(string) bool) {
	for _, key := range slices.Sorted(maps.Keys(deps)) {
		spec, ok := deps[key].(map[string]any)
		if !ok {
			continue
		}
		pth := str(spec, "path")
		if pth == "" {
			continue
		}
		if _, has := spec["version"]; has && maskable(filepath.Clean(filepath.Join(base, filepath.FromSlash(pth)))) {
			spec["version"] = maskedVersion
		}
	}
}

// maskLock masks the versions of lockfile entries without a source (local
// crates) and the "name version" references to them.
func maskLock(lock doc, keep map[string]bool) {
	renamed := map[string]string{}
	pkgs := tableList(lock["package"])
	for _, pkg := range pkgs {
		name, ver := str(pkg, "name"), str(pkg, "version")
		if str(pkg, "source") != "" || keep[name] {
			continue
		}
		renamed[name+" "+ver] = name + " " + maskedVersion
		pkg["version"] = maskedVersion
	}
	for _, pkg := range pkgs {
		deps, ok := pkg["dependencies"].([]any)
		if !ok {
			continue
		}
		for i, d := range deps {
			s, _ := d.(string)
			if to, ok := renamed[s]; ok && !strings.Contains(s, "(") {
				deps[i] = to
			}
		}
	}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}
