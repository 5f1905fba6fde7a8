package chef

import (
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// targetKinds are cargo's target tables with their auto-discovery switch and
// directory. Order matters only for readability of the recipe.
var targetKinds = []struct {
	table, kind, auto, dir string
}{
	{"bin", "Bin", "autobins", "src/bin"},
	{"example", "Example", "autoexamples", "examples"},
	{"test", "Test", "autotests", "tests"},
	{"bench", "Bench", "autobenches", "benches"},
}

// discoverTargets applies Cargo's target auto-discovery rules to a package
// directory so the skeleton has a dummy for every target cargo will look for
// (cargo refuses a manifest whose explicit target paths are missing, and
// silently changes the target set when discovered files are missing).
func discoverTargets(dir string, m doc, edition string) []Target {
	pkg := table(m, "package")
	name := str(pkg, "name")
	exists := func(rel string) bool {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
		return err == nil && !fi.IsDir()
	}
	var out []Target

	if lib := table(m, "lib"); lib != nil {
		p := str(lib, "path")
		if p == "" {
			p = "src/lib.rs"
		}
		out = append(out, libTarget(lib, p, name))
	} else if boolKey(pkg, "autolib", true) && exists("src/lib.rs") {
		out = append(out, libTarget(nil, "src/lib.rs", name))
	}

	for _, k := range targetKinds {
		explicit := tableList(m[k.table])
		// Edition 2015 (also the default when no edition is set) turns
		// discovery off as soon as one target of the kind is declared.
		auto := boolKey(pkg, k.auto, !(edition == "2015" && len(explicit) > 0))
		found := map[string]string{} // name -> path
		if auto {
			if k.table == "bin" && exists("src/main.rs") {
				found[name] = "src/main.rs"
			}
			for n, p := range scanTargetDir(dir, k.dir) {
				found[n] = p
			}
		}
		usedName, usedPath := map[string]bool{}, map[string]bool{}
		for _, e := range explicit {
			n, p := str(e, "name"), str(e, "path")
			if n == "" && p != "" {
				n = strings.TrimSuffix(path.Base(p), ".rs")
			}
			if p == "" {
				p = inferTargetPath(k.table, k.dir, n, name, found, exists)
			}
			p = path.Clean(filepath.ToSlash(p))
			usedName[n], usedPath[p] = true, true
			out = append(out, Target{Path: p, Kind: TargetKind{Name: k.kind}, Name: n})
		}
		for _, n := range slices.Sorted(maps.Keys(found)) {
			p := found[n]
			if usedName[n] || usedPath[p] {
				continue
			}
			out = append(out, Target{Path: p, Kind: TargetKind{Name: k.kind}, Name: n})
		}
	}

	switch b := pkg["build"].(type) {
	case string:
		out = append(out, Target{Path: path.Clean(filepath.ToSlash(b)), Kind: TargetKind{Name: "BuildScript"}, Name: "build-script-build"})
	case bool:
		if b {
			out = append(out, Target{Path: "build.rs", Kind: TargetKind{Name: "BuildScript"}, Name: "build-script-build"})
		}
	default:
		if exists("build.rs") {
			out = append(out, Target{Path: "build.rs", Kind: TargetKind{Name: "BuildScript"}, Name: "build-script-build"})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Kind.Name < out[j].Kind.Name
	})
	return out
}

func libTarget(lib doc, p, pkgName string) Target {
	n := str(lib, "name")
	if n == "" {
		n = strings.ReplaceAll(pkgName, "-", "_")
	}
	pm := boolKey(lib, "proc-macro", false) || boolKey(lib, "proc_macro", false)
	return Target{Path: path.Clean(filepath.ToSlash(p)), Kind: TargetKind{Name: "Lib", IsProcMacro: pm}, Name: n}
}

// scanTargetDir finds <dir>/*.rs and <dir>/*/main.rs, as Cargo does.
func scanTargetDir(pkgDir, dir string) map[string]string {
	out := map[string]string{}
	entries, err := os.ReadDir(filepath.Join(pkgDir, filepath.FromSlash(dir)))
	if err != nil {
		return out
	}
	for _, e := range entries {
		n := e.Name()
		full := filepath.Join(pkgDir, filepath.FromSlash(dir), n)
		fi, err := os.Stat(full)
		if err != nil {
			continue
		}
		switch {
		case !fi.IsDir() && strings.HasSuffix(n, ".rs"):
			out[strings.TrimSuffix(n, ".rs")] = dir + "/" + n
		case fi.IsDir():
			if _, err := os.Stat(filepath.Join(full, "main.rs")); err == nil {
				out[n] = dir + "/" + n + "/main.rs"
			}
		}
	}
	return out
}

// inferTargetPath mirrors Cargo's path inference for a declared target
// without `path`; when no file exists the conventional path is used so the
// skeleton still gets a dummy there.
func inferTargetPath(table, dir, name, pkgName string, found map[string]string, exists func(string) bool) string {
	if p, ok := found[name]; ok {
		return p
	}
	if table == "bin" && name == pkgName && exists("src/main.rs") {
		return "src/main.rs"
	}
	for _, p := range []string{dir + "/" + name + ".rs", dir + "/" + name + "/main.rs"} {
		if exists(p) {
			return p
		}
	}
	if table == "bin" && name == pkgName {
		return "src/main.rs"
	}
	return dir + "/" + name + ".rs"
}

// dummySource is what the skeleton writes for a target: enough to compile,
// nothing that depends on the real code. Harness-less tests and benches need
// their own main; the harness is read from the manifest because it is not
// part of cargo-chef's target schema.
func dummySource(t Target, m doc) string {
	switch t.Kind.Name {
	case "Lib":
		return ""
	case "Test", "Bench":
		for _, e := range tableList(m[strings.ToLower(t.Kind.Name)]) {
			if str(e, "name") == t.Name && !boolKey(e, "harness", true) {
				return "fn main() {}\n"
			}
		}
		return ""
	}
	return "fn main() {}\n"
}
