// Package layering checks the module's import graph against the rules of
// ARCHITECTURE.md: the table of packages there (what each may import) is
// parsed, the direction rules below are quoted there word for word.
package layering

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// pkg is one package of the module: its path relative to the module
// root, what it imports directly, everything it depends on, and its
// imports from outside the module that are not the standard library.
type pkg struct {
	path    string
	imports []string // module packages, module-relative
	deps    []string // module packages reached, module-relative
	foreign []string // non-stdlib imports from other modules
}

// match reports whether a module-relative path matches a pattern: exact,
// or "dir/*" for every package below dir, or "*" for all.
func match(pattern, path string) bool {
	if pattern == "*" {
		return true
	}
	if dir, ok := strings.CutSuffix(pattern, "/*"); ok {
		return strings.HasPrefix(path, dir+"/")
	}
	return pattern == path
}

func matchAny(patterns []string, path string) bool {
	for _, p := range patterns {
		if match(p, path) {
			return true
		}
	}
	return false
}

// row is one line of ARCHITECTURE.md's package table.
type row struct {
	pattern    string
	may, not   []string // module packages it may import; exceptions
	stdlibOnly bool     // nothing outside the standard library at all
}

var (
	// The job column may hold escaped pipes (\|).
	rowRE  = regexp.MustCompile("^\\| `([^`]+)` \\|(?:[^|\\\\]|\\\\.)*\\| ([^|]+) \\|$")
	itemRE = regexp.MustCompile("^(not )?`([^`]+)`$")
)

// parseTable reads the rows of the markdown table under heading.
func parseTable(doc, heading string) ([]row, error) {
	_, rest, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		return nil, fmt.Errorf("no %q heading", heading)
	}
	if end := strings.Index(rest, "\n#"); end >= 0 {
		rest = rest[:end]
	}
	var rows []row
	for _, line := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		m := rowRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			return nil, fmt.Errorf("row %q: want | `package` | job | may import |", line)
		}
		r := row{pattern: m[1]}
		switch may := strings.TrimSpace(m[2]); may {
		case "standard library only":
			r.stdlibOnly = true
		case "—":
		default:
			for _, item := range strings.Split(may, ",") {
				im := itemRE.FindStringSubmatch(strings.TrimSpace(item))
				if im == nil {
					return nil, fmt.Errorf("row %s: %q is not `pattern` or not `pattern`", r.pattern, item)
				}
				if im[1] != "" {
					r.not = append(r.not, im[2])
				} else {
					r.may = append(r.may, im[2])
				}
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// rule is a direction rule: no package in who (minus except) imports one
// in forbidden, directly or, when indirect, through any chain.
type rule struct {
	text      string // quoted in ARCHITECTURE.md
	who       []string
	except    []string
	forbidden []string
	indirect  bool
}

// check lists every violation of rows and rules in graph, sorted. everyone
// are the packages any package may import.
func check(graph []pkg, rows []row, rules []rule, everyone []string) []string {
	var out []string
	used := map[string]bool{}
	for _, p := range graph {
		var r *row
		for i := range rows {
			if match(rows[i].pattern, p.path) {
				r = &rows[i]
				used[r.pattern] = true
				break
			}
		}
		if r == nil {
			out = append(out, fmt.Sprintf("%s has no row in the package table", p.path))
			continue
		}
		if r.stdlibOnly {
			for _, i := range append(append([]string{}, p.imports...), p.foreign...) {
				out = append(out, fmt.Sprintf("%s imports %s: it may import the standard library only", p.path, i))
			}
			continue
		}
		for _, i := range p.imports {
			if (!matchAny(r.may, i) || matchAny(r.not, i)) && !matchAny(everyone, i) {
				out = append(out, fmt.Sprintf("%s imports %s: its row (%s) does not allow it", p.path, i, r.pattern))
			}
		}
	}
	for _, r := range rows {
		if !used[r.pattern] {
			out = append(out, fmt.Sprintf("row %s matches no package: remove it or fix the path", r.pattern))
		}
	}
	for _, ru := range rules {
		for _, p := range graph {
			if !matchAny(ru.who, p.path) || matchAny(ru.except, p.path) {
				continue
			}
			reach := p.imports
			if ru.indirect {
				reach = p.deps
			}
			for _, i := range reach {
				if matchAny(ru.forbidden, i) {
					out = append(out, fmt.Sprintf("%s reaches %s, against the rule %q", p.path, i, ru.text))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
