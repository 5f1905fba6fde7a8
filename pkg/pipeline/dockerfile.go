package pipeline

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
)

// composeDockerfile puts the builder Dockerfile's stage in front of the app
// template's stages, twice: as StageName (each target platform, for emulate
// and split) and as builder.NativeStageName (the build platform, for cross). BuildKit
// builds only the stages the target reaches, so a build with a published
// builder image, which the template's FROM lines name instead, builds
// neither.
func composeDockerfile(appDockerfile, builderDockerfile []byte) ([]byte, error) {
	appHead, appRest, appFrom, err := splitAtFirstFrom(appDockerfile)
	if err != nil {
		return nil, fmt.Errorf("the app Dockerfile template: %w", err)
	}
	bHead, bBody, from, err := splitAtFirstFrom(builderDockerfile)
	if err != nil {
		return nil, fmt.Errorf("the embedded builder Dockerfile: %w", err)
	}
	f := strings.Fields(from)
	if len(f) < 2 || !strings.EqualFold(f[0], "FROM") || strings.HasPrefix(f[1], "--") {
		return nil, fmt.Errorf("the embedded builder Dockerfile's first instruction is %q, expected FROM <image> [AS %s]", from, muslrustchef.StageName)
	}
	stage := func(extra, name string) string {
		return "FROM " + extra + f[1] + " AS " + name + "\n"
	}
	var b bytes.Buffer
	b.Write(appHead)
	b.Write(bHead)
	b.WriteString("\n# ---- the kit's builder, images/muslrust-chef/Dockerfile, for the target platform\n")
	b.WriteString(stage("", muslrustchef.StageName))
	b.Write(bBody)
	b.WriteString("\n# ---- the same builder for BuildKit's build platform (the cross stages)\n")
	b.WriteString(stage("--platform=$BUILDPLATFORM ", builder.NativeStageName))
	b.Write(bBody)
	b.WriteString("\n# ---- the app template, images/app/Dockerfile\n")
	b.WriteString(appFrom + "\n")
	b.Write(appRest)
	return b.Bytes(), nil
}

// splitAtFirstFrom returns the text before the first FROM instruction, the
// text after it, and the FROM instruction itself (on one line).
func splitAtFirstFrom(dockerfile []byte) (head, body []byte, from string, err error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, nil, "", err
	}
	for _, n := range res.AST.Children {
		if !strings.EqualFold(n.Value, "from") {
			continue
		}
		lines := bytes.SplitAfter(dockerfile, []byte("\n"))
		if n.StartLine < 1 || n.EndLine > len(lines) {
			return nil, nil, "", fmt.Errorf("FROM at lines %d-%d is outside the file", n.StartLine, n.EndLine)
		}
		head = bytes.Join(lines[:n.StartLine-1], nil)
		body = bytes.Join(lines[n.EndLine:], nil)
		return head, body, n.Original, nil
	}
	return nil, nil, "", fmt.Errorf("no FROM instruction")
}
