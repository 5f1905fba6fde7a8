package chef

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Changes explains, in dependency terms, why two recipes differ: the answer
// to "why did my cook layer rebuild?". Equal recipes give no lines.
func Changes(old, cur *Recipe) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	oldM, curM := manifestsByPath(old), manifestsByPath(cur)
	for _, p := range unionKeys(oldM, curM) {
		o, oOK := oldM[p]
		c, cOK := curM[p]
		switch {
		case !oOK:
			add("manifest added: %s", p)
			continue
		case !cOK:
			add("manifest removed: %s", p)
			continue
		case o.Contents == c.Contents:
			if !reflect.DeepEqual(o.Targets, c.Targets) {
				add("targets changed: %s: %s -> %s", p, targetList(o.Targets), targetList(c.Targets))
			}
			continue
		}
		od, err1 := parseTOML([]byte(o.Contents), p)
		cd, err2 := parseTOML([]byte(c.Contents), p)
		if err1 != nil || err2 != nil {
			add("manifest changed: %s", p)
			continue
		}
		od0, cd0 := dependencySpecs(od), dependencySpecs(cd)
		for _, k := range unionKeys(od0, cd0) {
			ov, oOK := od0[k]
			cv, cOK := cd0[k]
			switch {
			case !oOK:
				add("dependency added: %s: %s = %s", p, k, cv)
			case !cOK:
				add("dependency removed: %s: %s (was %s)", p, k, ov)
			case ov != cv:
				add("dependency changed: %s: %s: %s -> %s", p, k, ov, cv)
			}
		}
		if keys := otherKeysChanged(od, cd); len(keys) > 0 {
			add("manifest changed: %s: %s", p, strings.Join(keys, ", "))
		}
		if !reflect.DeepEqual(o.Targets, c.Targets) {
			add("targets changed: %s: %s -> %s", p, targetList(o.Targets), targetList(c.Targets))
		}
	}

	out = append(out, lockChanges(old.Skeleton.LockFile, cur.Skeleton.LockFile)...)
	if !sameOpt(old.Skeleton.ConfigFile, cur.Skeleton.ConfigFile) {
		add("cargo config changed: .cargo/config.toml %s", presence(old.Skeleton.ConfigFile != nil, cur.Skeleton.ConfigFile != nil))
	}
	ot, ct := old.Skeleton.RustToolchainFile, cur.Skeleton.RustToolchainFile
	if (ot == nil) != (ct == nil) || ot != nil && *ot != *ct {
		add("toolchain changed: rust-toolchain file %s", presence(ot != nil, ct != nil))
	}
	if old.WorkspaceDir != cur.WorkspaceDir {
		add("layout changed: workspace sits at %q in the skeleton (was %q)", cur.WorkspaceDir, old.WorkspaceDir)
	}
	return out
}

func presence(was, is bool) string {
	switch {
	case !was:
		return "added"
	case !is:
		return "removed"
	}
	return "edited"
}

func sameOpt(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func manifestsByPath(r *Recipe) map[string]Manifest {
	out := map[string]Manifest{}
	for _, m := range r.Skeleton.Manifests {
		out[m.RelativePath] = m
	}
	return out
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// dependencySpecs flattens every dependency table into "[table] name" ->
// canonical spec, workspace.dependencies included.
func dependencySpecs(d doc) map[string]string {
	out := map[string]string{}
	put := func(label string, deps doc) {
		for name, spec := range deps {
			out["["+label+"] "+name] = canonical(spec)
		}
	}
	for _, t := range depTables(d) {
		put(t.label, t.deps)
	}
	if ws := table(d, "workspace"); ws != nil {
		put("workspace.dependencies", table(ws, "dependencies"))
	}
	return out
}

func canonical(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	b, err := json.Marshal(v) // sorts map keys
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// otherKeysChanged names the non-dependency sections that differ
// (features, profile, package metadata, workspace members, ...).
func otherKeysChanged(o, c doc) []string {
	skip := map[string]bool{"dependencies": true, "dev-dependencies": true, "dev_dependencies": true, "build-dependencies": true, "build_dependencies": true}
	var out []string
	for _, k := range unionKeys(o, c) {
		if skip[k] {
			continue
		}
		ov, cv := o[k], c[k]
		if k == "target" || k == "workspace" {
			ot, _ := ov.(map[string]any)
			ct, _ := cv.(map[string]any)
			for _, sub := range unionKeys(ot, ct) {
				a, b := ot[sub], ct[sub]
				if k == "target" {
					a, b = withoutDeps(a), withoutDeps(b)
				} else if sub == "dependencies" {
					continue
				}
				if canonical(a) != canonical(b) {
					out = append(out, "["+k+"."+quoteKey(sub)+"]")
				}
			}
			continue
		}
		if canonical(ov) != canonical(cv) {
			out = append(out, "["+k+"]")
		}
	}
	return out
}

func withoutDeps(v any) any {
	t, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, e := range t {
		if !strings.Contains(k, "dependencies") {
			out[k] = e
		}
	}
	return out
}

func targetList(ts []Target) string {
	var parts []string
	for _, t := range ts {
		parts = append(parts, t.Kind.Name+":"+t.Name)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

type lockEntry struct{ version, source, checksum, deps string }

func lockChanges(old, cur *string) []string {
	if old == nil || cur == nil {
		if (old == nil) != (cur == nil) {
			return []string{"lockfile changed: Cargo.lock " + presence(old != nil, cur != nil)}
		}
		return nil
	}
	if *old == *cur {
		return nil
	}
	parse := func(s string) map[string][]lockEntry {
		out := map[string][]lockEntry{}
		d, err := parseTOML([]byte(s), "Cargo.lock")
		if err != nil {
			return out
		}
		for _, p := range tableList(d["package"]) {
			name := str(p, "name")
			out[name] = append(out[name], lockEntry{str(p, "version"), str(p, "source"), str(p, "checksum"), canonical(p["dependencies"])})
		}
		return out
	}
	o, c := parse(*old), parse(*cur)
	var out []string
	for _, name := range unionKeys(o, c) {
		ov, cv := o[name], c[name]
		switch {
		case len(ov) == 0:
			for _, e := range cv {
				out = append(out, fmt.Sprintf("lockfile entry added: %s %s%s", name, e.version, sourceNote(e.source)))
			}
		case len(cv) == 0:
			for _, e := range ov {
				out = append(out, fmt.Sprintf("lockfile entry removed: %s %s%s", name, e.version, sourceNote(e.source)))
			}
		case len(ov) == 1 && len(cv) == 1:
			a, b := ov[0], cv[0]
			switch {
			case a.version != b.version:
				out = append(out, fmt.Sprintf("lockfile entry changed: %s %s -> %s", name, a.version, b.version))
			case a.source != b.source:
				out = append(out, fmt.Sprintf("lockfile entry changed: %s %s source %s -> %s", name, a.version, a.source, b.source))
			case a.checksum != b.checksum:
				out = append(out, fmt.Sprintf("lockfile entry changed: %s %s checksum", name, a.version))
			case a.deps != b.deps:
				out = append(out, fmt.Sprintf("lockfile entry changed: %s %s dependencies %s -> %s", name, a.version, a.deps, b.deps))
			}
		default:
			if !reflect.DeepEqual(ov, cv) {
				out = append(out, fmt.Sprintf("lockfile entry changed: %s %s -> %s", name, versions(ov), versions(cv)))
			}
		}
	}
	if len(out) == 0 {
		out = append(out, "lockfile changed: Cargo.lock header or format")
	}
	return out
}

func sourceNote(s string) string {
	if s == "" {
		return " (local)"
	}
	return " (" + s + ")"
}

func versions(es []lockEntry) string {
	var vs []string
	for _, e := range es {
		vs = append(vs, e.version)
	}
	return strings.Join(vs, ",")
}
