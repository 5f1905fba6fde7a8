package pipeline

import (
	"bytes"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"mvdan.cc/sh/v3/syntax"

	"github.com/muslrust-chef/muslrust-chef/images/app"
)

// The other half of FuzzShellRendering's property: the template's RUN
// steps use every variable (build arguments included) only inside double
// quotes, so a value reaches the shell as data; the snippets themselves are
// evaluated only as "$muslrust_chef_flags", which holds what buildArgs
// rendered.
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
				if arg != `"$muslrust_chef_flags"` && !strings.HasPrefix(arg, `"muslrust_chef_flags=\${`) {
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
