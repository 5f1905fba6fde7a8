package pipeline

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"mvdan.cc/sh/v3/syntax"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
)

// The other half of FuzzShellRendering's property: the template's RUN
// steps use every variable (build arguments included) only inside double
// quotes, so a value reaches the shell as data; the snippets themselves are
// evaluated only as "$muslrust_chef_flags" and "$muslrust_chef_records",
// which hold what buildArgs rendered.
func TestDockerfileQuotesEveryVariable(t *testing.T) {
	res, err := parser.Parse(bytes.NewReader(app.Dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for _, n := range res.AST.Children {
		if !strings.EqualFold(n.Value, "run") {
			continue
		}
		runs++
		var words []string
		for c := n.Next; c != nil; c = c.Next {
			words = append(words, c.Value)
		}
		text := strings.Join(words, " ")
		if n.Attributes["json"] {
			continue // exec form: no shell
		}
		file, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(text), "RUN")
		if err != nil {
			t.Fatalf("line %d: RUN does not parse as POSIX shell: %v", n.StartLine, err)
		}
		var stack []syntax.Node
		syntax.Walk(file, func(node syntax.Node) bool {
			if node == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			stack = append(stack, node)
			if pe, ok := node.(*syntax.ParamExp); ok {
				quoted := false
				for _, outer := range stack {
					if _, dq := outer.(*syntax.DblQuoted); dq {
						quoted = true
					}
				}
				if !quoted {
					t.Errorf("line %d: $%s is used outside double quotes: %s", n.StartLine, pe.Param.Value, text)
				}
			}
			if call, ok := node.(*syntax.CallExpr); ok && len(call.Args) > 0 && call.Args[0].Lit() == "eval" {
				arg := ""
				if len(call.Args) == 2 {
					var b strings.Builder
					syntax.NewPrinter().Print(&b, call.Args[1])
					arg = b.String()
				}
				if arg != `"$muslrust_chef_flags"` && !strings.HasPrefix(arg, `"muslrust_chef_flags=\${`) &&
					arg != `"$muslrust_chef_records"` && !strings.HasPrefix(arg, `"muslrust_chef_records=\${`) {
					t.Errorf("line %d: eval of %s: only the rendered snippet may be evaluated", n.StartLine, arg)
				}
			}
			return true
		})
	}
	if runs < 4 {
		t.Fatalf("found %d RUN steps in the template", runs)
	}
}

// The cross-cook RUN as sh runs it, with a cargo reporting a version: one
// cargo for every triple needs cargo 1.64, an older one stops the step
// with the template's one-line error before any build; 1.64 and later (and
// a version it cannot read) go on to build.
func TestCrossCookChecksCargoVersion(t *testing.T) {
	sh := testinfra.Tool(t, "sh")
	targets := []Target{
		{Platform: amd64(), Flags: cargo.Flags{Profile: "release", Triple: "x86_64-unknown-linux-musl"}},
		{Platform: arm64(), Flags: cargo.Flags{Profile: "release", Triple: "aarch64-unknown-linux-musl"}},
	}
	sn, err := crossSnippet(targets, nil, "/src", "/out")
	if err != nil {
		t.Fatal(err)
	}
	run := stageRunText(t, app.StageCrossCook)
	for version, want := range map[string]string{
		"cargo 1.63.0 (fd9c4297c 2022-07-01)":   "cross needs cargo 1.64 or later (several --target), the builder image has cargo 1.63.0 (fd9c4297c 2022-07-01): use a newer builder image or set MUSLRUST_CHEF_STRATEGY=emulate",
		"cargo 1.65.0":                          "",
		"cargo 1.95.0-nightly (abc 2026-01-01)": "",
		"cargo 2.0.0":                           "",
	} {
		bin := t.TempDir()
		fake := "#!/bin/sh\nif [ \"$1\" = --version ]; then echo '" + version + "'; exit 0; fi\necho \"cargo $*\"\n"
		if err := os.WriteFile(filepath.Join(bin, "cargo"), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(sh, "-c", run)
		cmd.Dir = t.TempDir()
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "BUILDPLATFORM=linux/amd64", "MUSLRUST_CHEF_CROSS_FROM=linux/amd64", "MUSLRUST_CHEF_CROSS=" + sn}
		out, err := cmd.CombinedOutput()
		if want != "" {
			if err == nil || templateError(string(out)) != want || strings.Contains(string(out), "cargo build") {
				t.Errorf("%s: %v: %s\nwant the error %q", version, err, out, want)
			}
			continue
		}
		if err != nil || !strings.Contains(string(out), "cargo build --profile release --target x86_64-unknown-linux-musl --target aarch64-unknown-linux-musl") {
			t.Errorf("%s: %v: %s", version, err, out)
		}
	}
}
