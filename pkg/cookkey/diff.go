package cookkey

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
)

// Changes returns one line per input that differs between the previous
// record and the current one, in a fixed order; equal records give none.
// The recipe digest gets a line of its own only when neither the locked
// crates nor the cargo config explain its change (then a manifest, the
// toolchain file or the skeleton layout changed: chef.Changes on the two
// recipes names which).
func Changes(old, cur *Key) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	crates := crateChanges(old.Crates, cur.Crates)
	out = append(out, crates...)
	if old.CargoConfig != cur.CargoConfig {
		add(".cargo/config.toml %s", presence(old.CargoConfig != "", cur.CargoConfig != ""))
	}
	if old.Recipe != cur.Recipe && len(crates) == 0 && old.CargoConfig == cur.CargoConfig {
		add("recipe: %s -> %s (a manifest, the toolchain file or the workspace layout changed)", short(old.Recipe), short(cur.Recipe))
	}
	if old.Toolchain != cur.Toolchain {
		add("toolchain: %s -> %s", orNone(old.Toolchain), orNone(cur.Toolchain))
	}
	if old.Template != cur.Template {
		add("the kit's build template changed: %s -> %s (a kit upgrade re-runs the cook once)", orNone(short(old.Template)), orNone(short(cur.Template)))
	}
	if old.Builder != cur.Builder {
		add("builder: %s -> %s", orNone(old.Builder), orNone(cur.Builder))
	}
	if old.Profile != cur.Profile {
		add("profile: %s -> %s", orNone(old.Profile), orNone(cur.Profile))
	}
	if of, cf := featureText(old), featureText(cur); of != cf {
		add("features: %s -> %s", of, cf)
	}
	if added, removed := setDiff(old.Triples, cur.Triples); len(added)+len(removed) > 0 {
		add("triples:%s", addedRemoved(added, removed))
	}
	if old.RustFlags != cur.RustFlags {
		added, removed := setDiff(flagTokens(old.RustFlags), flagTokens(cur.RustFlags))
		if len(added)+len(removed) > 0 {
			add("RUSTFLAGS%s", addedRemoved(added, removed))
		} else {
			// Same flags, other order or spacing: still another cache key.
			add("RUSTFLAGS: %q -> %q", old.RustFlags, cur.RustFlags)
		}
	}
	return out
}

// WhyCookRan is the block printed when cook ran instead of being reused:
// what changed since old, or, when nothing did, that the cache was not
// available, naming the refs (or directory) tried. old nil means there is
// no previous record to compare with.
func WhyCookRan(old, cur *Key, cacheTried []string) []string {
	if old == nil {
		return []string{"no previous cook record to compare with (first build, or the previous image has none)"}
	}
	if lines := Changes(old, cur); len(lines) > 0 {
		return lines
	}
	tried := "no cache was configured"
	if len(cacheTried) > 0 {
		tried = "tried " + strings.Join(cacheTried, ", ")
	}
	return []string{"no input changed: the cache was not available (" + tried + ")"}
}

// WriteBlock prints lines as one block under a heading, each line
// indented, for the build log and the CI summary.
func WriteBlock(w io.Writer, lines []string) error {
	if _, err := fmt.Fprintln(w, "why did cook run:"); err != nil {
		return fmt.Errorf("cookkey: writing the block: %w", err)
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, "  "+l); err != nil {
			return fmt.Errorf("cookkey: writing the block: %w", err)
		}
	}
	return nil
}

// crateChanges compares the locked crates by name: one version replaced by
// another reads "Cargo.lock: serde 1.0.203 -> 1.0.204", anything else as
// added and removed entries.
func crateChanges(old, cur []Crate) []string {
	type entry struct{ version, source string }
	group := func(cs []Crate) map[string][]entry {
		m := map[string][]entry{}
		for _, c := range cs {
			m[c.Name] = append(m[c.Name], entry{c.Version, c.Source})
		}
		return m
	}
	om, cm := group(old), group(cur)
	names := make([]string, 0, len(om)+len(cm))
	for n := range om {
		names = append(names, n)
	}
	for n := range cm {
		if _, ok := om[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out []string
	for _, n := range names {
		var gone, came []entry
		for _, e := range om[n] {
			if !slices.Contains(cm[n], e) {
				gone = append(gone, e)
			}
		}
		for _, e := range cm[n] {
			if !slices.Contains(om[n], e) {
				came = append(came, e)
			}
		}
		switch {
		case len(gone) == 1 && len(came) == 1 && gone[0].source == came[0].source:
			out = append(out, fmt.Sprintf("Cargo.lock: %s %s -> %s", n, gone[0].version, came[0].version))
		case len(gone) == 1 && len(came) == 1 && gone[0].version == came[0].version:
			out = append(out, fmt.Sprintf("Cargo.lock: %s %s source %s -> %s", n, gone[0].version, sourceName(gone[0].source), sourceName(came[0].source)))
		default:
			for _, e := range gone {
				out = append(out, fmt.Sprintf("Cargo.lock: removed %s %s%s", n, e.version, sourceNote(e.source)))
			}
			for _, e := range came {
				out = append(out, fmt.Sprintf("Cargo.lock: added %s %s%s", n, e.version, sourceNote(e.source)))
			}
		}
	}
	return out
}

func sourceName(s string) string {
	if s == "" {
		return localSource
	}
	return s
}

func sourceNote(s string) string {
	if s == "" {
		return " (local)"
	}
	return " (" + s + ")"
}

func featureText(k *Key) string {
	return cargo.Flags{Features: k.Features, AllFeatures: k.AllFeatures, NoDefaultFeatures: k.NoDefaultFeatures}.FeatureDescription()
}

// setDiff returns what cur has that old lacks, and the reverse, keeping
// each list's order.
func setDiff(old, cur []string) (added, removed []string) {
	for _, c := range cur {
		if !slices.Contains(old, c) {
			added = append(added, c)
		}
	}
	for _, o := range old {
		if !slices.Contains(cur, o) {
			removed = append(removed, o)
		}
	}
	return added, removed
}

func addedRemoved(added, removed []string) string {
	var s string
	if len(added) > 0 {
		s += " added " + strings.Join(added, " ")
	}
	if len(removed) > 0 {
		if s != "" {
			s += ";"
		}
		s += " removed " + strings.Join(removed, " ")
	}
	return s
}

func presence(was, is bool) string {
	switch {
	case !was:
		return "added"
	case !is:
		return "removed"
	}
	return "changed"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// short keeps a digest readable in one line: "sha256:" and 12 hex digits.
func short(d string) string {
	if algo, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return algo + ":" + hex[:12]
	}
	return d
}

// flagTokens splits RUSTFLAGS into rustc options, keeping an option that
// takes its value as the next word ("-C target-cpu=native") in one token,
// so a diff names the option and not a bare "target-cpu=native".
func flagTokens(s string) []string {
	var out []string
	words := strings.Fields(s)
	for i := 0; i < len(words); i++ {
		w := words[i]
		if takesValue(w) && i+1 < len(words) {
			w += " " + words[i+1]
			i++
		}
		out = append(out, w)
	}
	return out
}

func takesValue(w string) bool {
	switch w {
	case "-C", "-Z", "-L", "-l", "-A", "-W", "-D", "-F", "--cfg", "--check-cfg", "--cap-lints", "--codegen":
		return true
	}
	return false
}
