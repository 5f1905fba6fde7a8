package layering

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/muslrust-chef/muslrust-chef"

// everyone may be imported by any package: they import only the standard
// library and hold no policy.
var everyone = []string{"pkg/option", "internal/oneline", "internal/retry", "internal/redact"}

// testSupport is the test infrastructure: production code never links it.
var testSupport = []string{"internal/testinfra", "internal/standin", "internal/testimages", "internal/fixtures",
	"internal/faultproxy", "internal/faults", "internal/regtest", "internal/allocbench", "internal/atomicdir/crashtest"}

var production = []string{"pkg/*", "cmd/*", "images/*"}

// rules are the direction rules; ARCHITECTURE.md quotes each text.
var rules = []rule{
	{text: "Library packages (`pkg/*` but `pkg/config` and `pkg/targets/*`) never import `pkg/config` or `pkg/targets/*`, not even indirectly.",
		who: []string{"pkg/*"}, except: []string{"pkg/config", "pkg/targets/*"}, forbidden: []string{"pkg/config", "pkg/targets/*"}, indirect: true},
	{text: "Nothing imports `pkg/pipeline` but `pkg/targets/*` and `cmd/*`.",
		who: []string{"*"}, except: []string{"pkg/targets/*", "cmd/*"}, forbidden: []string{"pkg/pipeline"}},
	{text: "Only `pkg/targets/*` and `pkg/config` (which turns the image:* knobs into its options) import `pkg/builderimage`: building the builder image is a target of its own, never a step of the pipeline.",
		who: []string{"*"}, except: []string{"pkg/targets/*", "pkg/config"}, forbidden: []string{"pkg/builderimage"}},
	{text: "Production packages (`pkg/*`, `cmd/*`, `images/*`) never link the test support in `internal/`.",
		who: production, forbidden: testSupport, indirect: true},
}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// graph lists the module's packages with `go list`, magefiles included.
func graph(t *testing.T) []pkg {
	t.Helper()
	var out []pkg
	for _, args := range [][]string{{"./..."}, {"-tags", "mage", "./magefiles"}} {
		cmd := exec.Command("go", append([]string{"list", "-f", "{{.ImportPath}}\t{{join .Imports \" \"}}\t{{join .Deps \" \"}}"}, args...)...)
		cmd.Dir = root(t)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Split(line, "\t")
			p := pkg{path: rel(f[0])}
			for _, i := range strings.Fields(f[1]) {
				switch {
				case strings.HasPrefix(i, module+"/"):
					p.imports = append(p.imports, rel(i))
				case strings.Contains(strings.Split(i, "/")[0], "."):
					p.foreign = append(p.foreign, i)
				}
			}
			for _, d := range strings.Fields(f[2]) {
				if strings.HasPrefix(d, module+"/") {
					p.deps = append(p.deps, rel(d))
				}
			}
			out = append(out, p)
		}
	}
	if len(out) < 30 {
		t.Fatalf("go list gave %d packages: the listing is broken", len(out))
	}
	return out
}

func rel(path string) string { return strings.TrimPrefix(path, module+"/") }

// TestArchitecture checks the module's import graph against ARCHITECTURE.md.
func TestArchitecture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root(t), "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	rows, err := parseTable(doc, "## Packages")
	if err != nil {
		t.Fatalf("ARCHITECTURE.md: %v", err)
	}
	for _, r := range rules {
		if !strings.Contains(doc, r.text) {
			t.Errorf("ARCHITECTURE.md does not state the rule %q", r.text)
		}
	}
	for _, v := range check(graph(t), rows, rules, everyone) {
		t.Error(v)
	}
}
