package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/baseimage"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// NativeStageName is the embedded builder built for BuildKit's build
// platform, which the cross stages run on. It is a second copy of the
// builder's one stage, FROM --platform=$BUILDPLATFORM: BuildKit gives a stage
// that starts FROM another stage that stage's platform, so the cross stages
// cannot reuse the target-platform copy.
const NativeStageName = muslrustchef.StageName + "-native"

// embeddedPlatforms are the platforms the embedded builder can be built
// for, as platform.Parse gives them (arm64 with its v8 variant): the
// builder's per-platform maps are looked up with the configured platforms.
var embeddedPlatforms = func() []platform.Platform {
	ps := make([]platform.Platform, 0, 2)
	for _, s := range []string{"linux/amd64", "linux/arm64"} {
		p, err := platform.Parse(s)
		if err != nil {
			panic(err)
		}
		ps = append(ps, p)
	}
	return ps
}()

// builderBuildArgs parses MUSLRUST_CHEF_BUILDER_ARGS (KEY=VALUE,...) and the
// base image into the embedded builder's build arguments. cargo-chef serves
// hand-written Dockerfiles in the seed's style, not the kit's own cook and
// build, so its download is skipped unless a CARGO_CHEF_VERSION is given.
func builderBuildArgs(list, muslrustImage string) (map[string]string, error) {
	args, err := baseimage.ParseBuilderArgs(list)
	if err != nil {
		return nil, err
	}
	if _, set := args["CARGO_CHEF_VERSION"]; !set {
		args["CARGO_CHEF_VERSION"] = ""
	}
	if muslrustImage != "" {
		if _, err := name.ParseReference(muslrustImage); err != nil {
			return nil, fmt.Errorf("MUSLRUST_CHEF_MUSLRUST_IMAGE=%q is not an image reference: use clux/muslrust:<version>-stable-<date>[@sha256:...]", muslrustImage)
		}
		args["MUSLRUST_IMAGE"] = muslrustImage
	}
	return args, nil
}

// embeddedBuilder is the kit's own builder, declared by the labels of the
// embedded Dockerfile: the same declaration for every platform it runs on.
func embeddedBuilder(args map[string]string) (*Builder, error) {
	labels, err := muslrustchef.Labels(args)
	if err != nil {
		return nil, err
	}
	base := args["MUSLRUST_IMAGE"]
	if base == "" {
		base = baseimage.DefaultMuslrustImage()
	}
	b := &Builder{
		Ref:      fmt.Sprintf("the kit's builder (images/muslrust-chef/Dockerfile on %s)", base),
		Embedded: true,
		Libc:     map[platform.Platform]string{}, RustFlags: map[platform.Platform]string{}, Cross: map[platform.Platform]CrossDecl{},
		platforms: map[platform.Platform]bool{},
	}
	decl, err := parseCross(labels)
	if err != nil {
		return nil, fmt.Errorf("the embedded builder Dockerfile has a wrong cross-compilation declaration: %w", err)
	}
	for _, p := range embeddedPlatforms {
		b.platforms[p] = true
		b.have = append(b.have, p.String())
		b.Libc[p] = labels[LabelLibc]
		b.RustFlags[p] = labels[LabelRustFlags]
		b.Cross[p] = decl
	}
	return b, nil
}

// builderContext cross-compiles the helper CLI for every platform the
// embedded builder runs on into a temporary directory, with the download
// script: the builder stages' named context.
func builderContext(ctx context.Context, goEnv []string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "muslrust-chef-builder-context-")
	if err != nil {
		return "", nil, fmt.Errorf("creating the builder's build context: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	if err := os.WriteFile(filepath.Join(dir, muslrustchef.FetchVerifiedName), muslrustchef.FetchVerified, 0o755); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("creating the builder's build context: %w", err)
	}
	// Both architectures whatever is built: the context's content, and so
	// the builder stages' cache keys, must not depend on the platforms.
	if err := baseimage.CompileHelper(ctx, dir, embeddedPlatforms, "", goEnv); err != nil {
		cleanup()
		return "", nil, err
	}
	return dir, cleanup, nil
}

// composeDockerfile puts the builder Dockerfile's stage in front of the app
// template's stages, twice: as StageName (each target platform, for emulate
// and split) and as NativeStageName (the build platform, for cross). BuildKit
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
	b.WriteString(stage("--platform=$BUILDPLATFORM ", NativeStageName))
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

// builderStages reports how the embedded builder's stages went in a solve:
// reused (every step cached) or built, and how long the steps that ran
// took, from the first start to the last completion.
func builderStages(res *buildkit.Result) (ran bool, took time.Duration, found bool) {
	if res == nil {
		return false, 0, false
	}
	var first, last time.Time
	for _, v := range res.Vertexes {
		if !isBuilderStep(v.Name) {
			continue
		}
		found = true
		if v.Cached || v.Started == nil || v.Completed == nil {
			continue
		}
		ran = true
		if first.IsZero() || v.Started.Before(first) {
			first = *v.Started
		}
		if v.Completed.After(last) {
			last = *v.Completed
		}
	}
	if ran {
		took = last.Sub(first)
	}
	return ran, took, found
}

// isBuilderStep says whether a vertex is a RUN step of either builder
// stage: "[muslrust-chef 3/7] RUN ..." or "[linux/arm64 muslrust-chef-native
// 2/7] RUN ...". Only RUN steps do the builder's work; its FROM is resolved
// (not cached) on every solve.
func isBuilderStep(vertexName string) bool {
	head, rest, ok := strings.Cut(strings.TrimPrefix(vertexName, "["), "] ")
	if !ok || !strings.HasPrefix(vertexName, "[") || !strings.HasPrefix(rest, "RUN ") {
		return false
	}
	for _, f := range strings.Fields(head) {
		if f == muslrustchef.StageName || f == NativeStageName {
			return true
		}
	}
	return false
}

// builderArgs are the template's builder arguments: the stage names of the
// embedded builder, or the published image for both.
func builderArgs(b *Builder) map[string]string {
	if b.Embedded {
		return map[string]string{app.ArgBuilderImage: muslrustchef.StageName, app.ArgCrossBuilderImage: NativeStageName}
	}
	return map[string]string{app.ArgBuilderImage: b.Pinned, app.ArgCrossBuilderImage: b.Pinned}
}
