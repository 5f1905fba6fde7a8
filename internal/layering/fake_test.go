package layering

import (
	"reflect"
	"strings"
	"testing"
)

const fakeDoc = "# x\n\n## Packages\n\n| package | job | may import |\n|---|---|---|\n" +
	"| `pkg/option` | errors | standard library only |\n" +
	"| `pkg/platform` | platforms | — |\n" +
	"| `pkg/publish` | registries | `pkg/platform` |\n" +
	"| `pkg/pipeline` | orchestrates | `pkg/*`, not `pkg/config`, not `pkg/targets/*` |\n" +
	"| `pkg/config` | knobs | `pkg/*`, not `pkg/pipeline`, not `pkg/targets/*` |\n" +
	"| `pkg/targets/*` | targets | `*` |\n" +
	"| `internal/gone` | stale | — |\n" +
	"\n## Next\n| `not/a/row` | x | — |\n"

// The checker itself must be able to fail: a fake graph breaking every
// kind of rule gives exactly those violations.
func TestCheckerFindsViolations(t *testing.T) {
	rows, err := parseTable(fakeDoc, "## Packages")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 {
		t.Fatalf("parsed %d rows, want 7 (the table under the heading only): %+v", len(rows), rows)
	}
	g := []pkg{
		{path: "pkg/option", foreign: []string{"example.com/x"}},
		{path: "pkg/platform", imports: []string{"pkg/option"}},                                               // everyone: allowed
		{path: "pkg/publish", imports: []string{"pkg/platform", "pkg/config"}, deps: []string{"pkg/config"}},  // row + rule 1
		{path: "pkg/pipeline", imports: []string{"pkg/publish"}, deps: []string{"pkg/publish", "pkg/config"}}, // rule 1, indirect
		{path: "pkg/config", imports: []string{"pkg/pipeline"}},                                               // row + rule 2
		{path: "pkg/targets/rust", imports: []string{"pkg/pipeline", "pkg/config"}},                           // allowed
		{path: "pkg/stray"},
	}
	rules := []rule{
		{text: "r1", who: []string{"pkg/*"}, except: []string{"pkg/config", "pkg/targets/*"}, forbidden: []string{"pkg/config", "pkg/targets/*"}, indirect: true},
		{text: "r2", who: []string{"*"}, except: []string{"pkg/targets/*"}, forbidden: []string{"pkg/pipeline"}},
	}
	got := check(g, rows, rules, []string{"pkg/option"})
	want := []string{
		`pkg/config imports pkg/pipeline: its row (pkg/config) does not allow it`,
		`pkg/config reaches pkg/pipeline, against the rule "r2"`,
		`pkg/option imports example.com/x: it may import the standard library only`,
		`pkg/pipeline reaches pkg/config, against the rule "r1"`,
		`pkg/publish imports pkg/config: its row (pkg/publish) does not allow it`,
		`pkg/publish reaches pkg/config, against the rule "r1"`,
		`pkg/stray has no row in the package table`,
		`row internal/gone matches no package: remove it or fix the path`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The same graph without the faults passes.
	clean := []pkg{g[1], {path: "pkg/publish", imports: []string{"pkg/platform"}}, {path: "pkg/pipeline", imports: []string{"pkg/publish"}, deps: []string{"pkg/publish"}},
		{path: "pkg/config", imports: []string{"pkg/publish"}}, g[5], {path: "pkg/option"}, {path: "internal/gone"}}
	if got := check(clean, rows, rules, []string{"pkg/option"}); len(got) != 0 {
		t.Errorf("clean graph: %v", got)
	}
}

func TestParseTableRejectsMalformedRows(t *testing.T) {
	for _, doc := range []string{
		"## Packages\n| `pkg/x` | job |\n",
		"## Packages\n| `pkg/x` | job | pkg/y |\n",
		"no heading",
	} {
		if rows, err := parseTable(doc, "## Packages"); err == nil {
			t.Errorf("%q parsed: %+v", doc, rows)
		}
	}
}
