package pipeline

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/cookkey"
)

// stageInstructions returns a Dockerfile stage's instructions as written
// (its FROM line first), from the FROM that names it to the next FROM.
func stageInstructions(dockerfile []byte, stage string) ([]string, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, err
	}
	var out []string
	in := false
	for _, n := range res.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			f := strings.Fields(n.Original)
			in = len(f) >= 3 && strings.EqualFold(f[len(f)-2], "as") && f[len(f)-1] == stage
		}
		if in {
			out = append(out, n.Original)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the Dockerfile has no stage %q", stage)
	}
	return out, nil
}

// cookTemplate is the cook key's Template (cookkey.WithTemplate): the
// digest of the cook stage's instructions as the strategy runs them and
// of the snippets its RUN step evaluates (every architecture's flags, or
// the cross snippet). Only the cook stage counts: a kit upgrade that
// changes the build stage alone (the records, say) leaves the cook
// layer's cache key, and this digest, as they were.
func cookTemplate(dockerfile []byte, strategy string, args map[string]string) (string, error) {
	stage := app.StageCook
	var snippets []string
	if strategy == StrategyCross {
		stage = app.StageCrossCook
		snippets = []string{args[app.ArgCross]}
	} else {
		var names []string
		for k := range args {
			if strings.HasPrefix(k, app.ArgFlagsPrefix) {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			snippets = append(snippets, k+"="+args[k])
		}
	}
	ins, err := stageInstructions(dockerfile, stage)
	if err != nil {
		return "", fmt.Errorf("the app Dockerfile template: %w", err)
	}
	return cookkey.TemplateDigest([]byte(strings.Join(ins, "\n")), snippets...), nil
}
