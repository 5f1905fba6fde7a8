package pipeline

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// The composed Dockerfile holds the builder stage twice (target and build
// platform) before the template's stages, keeps the template's parser
// directive first and declares every global ARG before the first FROM.
func TestComposeDockerfile(t *testing.T) {
	df, err := composeDockerfile(app.Dockerfile, muslrustchef.Dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(df, []byte("# check=")) {
		t.Fatalf("the template's parser directive is not the first line:\n%.200s", df)
	}
	res, err := parser.Parse(bytes.NewReader(df))
	if err != nil {
		t.Fatal(err)
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	var globals []string
	for _, a := range meta {
		for _, kv := range a.Args {
			globals = append(globals, kv.Key)
		}
	}
	for _, want := range []string{app.ArgBuilderImage, app.ArgCrossBuilderImage, "MUSLRUST_IMAGE"} {
		if !strings.Contains(" "+strings.Join(globals, " ")+" ", " "+want+" ") {
			t.Fatalf("global ARGs %v lack %s", globals, want)
		}
	}
	byName := map[string]instructions.Stage{}
	var order []string
	for _, s := range stages {
		byName[s.Name] = s
		order = append(order, s.Name)
	}
	if order[0] != muslrustchef.StageName || order[1] != NativeStageName {
		t.Fatalf("stage order %v: the builder stages must come first", order)
	}
	if byName[muslrustchef.StageName].Platform != "" || byName[NativeStageName].Platform != "$BUILDPLATFORM" {
		t.Fatalf("platforms: target stage %q, native stage %q", byName[muslrustchef.StageName].Platform, byName[NativeStageName].Platform)
	}
	if len(byName[muslrustchef.StageName].Commands) != len(byName[NativeStageName].Commands) || len(byName[NativeStageName].Commands) < 5 {
		t.Fatalf("the builder copies differ: %d and %d commands", len(byName[muslrustchef.StageName].Commands), len(byName[NativeStageName].Commands))
	}
	for _, s := range []string{app.StageCook, app.StageBuild, app.StageExport, app.StageCrossCook, app.StageCrossBuild, app.StageCrossExport} {
		if _, ok := byName[s]; !ok {
			t.Fatalf("template stage %s missing from %v", s, order)
		}
	}
	if byName["builder"].BaseName != "${"+app.ArgBuilderImage+"}" || byName["cross-builder"].BaseName != "${"+app.ArgCrossBuilderImage+"}" {
		t.Fatalf("builder stages start FROM %q and %q", byName["builder"].BaseName, byName["cross-builder"].BaseName)
	}
}

func TestBuilderBuildArgs(t *testing.T) {
	args, err := builderBuildArgs("ZIG_BASE_URL=http://127.0.0.1:9/zig, ZIG_VERSION=0.11.0", "reg.example/musl:1")
	if err != nil {
		t.Fatal(err)
	}
	if args["ZIG_BASE_URL"] != "http://127.0.0.1:9/zig" || args["ZIG_VERSION"] != "0.11.0" || args["MUSLRUST_IMAGE"] != "reg.example/musl:1" {
		t.Fatalf("args = %v", args)
	}
	if v, ok := args["CARGO_CHEF_VERSION"]; !ok || v != "" {
		t.Fatalf("cargo-chef is not skipped by default: %v", args)
	}
	for in, want := range map[string]string{
		"NOPE=1":   "has no build argument NOPE",
		"ZIG":      "is not KEY=VALUE",
		"=x":       "is not KEY=VALUE",
		"FOO=1,X=": "has no build argument FOO",
	} {
		if _, err := builderBuildArgs(in, ""); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("builderBuildArgs(%q) = %v, want %q", in, err, want)
		}
	}
	if _, err := builderBuildArgs("", "UPPER/Case:x"); err == nil || !strings.Contains(err.Error(), "MUSLRUST_CHEF_MUSLRUST_IMAGE") {
		t.Errorf("a bad base image reference: %v", err)
	}
}

func TestEmbeddedBuilderDeclaresCross(t *testing.T) {
	b, err := embeddedBuilder(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	// The platforms as a user gives them (arm64 parses with its v8
	// variant): emulate and split require every one of them.
	ps, err := platform.ParseList("linux/amd64,linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.require(ps); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if b.Libc[p] != "musl" || len(b.Cross[p].Platforms) != 2 || !b.platforms[p] {
			t.Fatalf("%s: libc %q cross %+v", p, b.Libc[p], b.Cross[p])
		}
	}
	if err := b.require(embeddedPlatforms); err != nil {
		t.Fatal(err)
	}
	b, err = embeddedBuilder(map[string]string{"MUSLRUST_CHEF_CROSS_PLATFORMS": ""})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Cross[embeddedPlatforms[0]].Platforms) != 0 {
		t.Fatalf("the cross declaration follows the build arg: %+v", b.Cross)
	}
}

func TestBuilderStages(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(s int) *time.Time { x := t0.Add(time.Duration(s) * time.Second); return &x }
	res := &buildkit.Result{Vertexes: []buildkit.Vertex{
		{Name: "[linux/amd64 muslrust-chef 2/5] RUN zig", Started: at(0), Completed: at(30)},
		{Name: "[linux/amd64 muslrust-chef-native 3/5] RUN x", Started: at(10), Completed: at(41)},
		{Name: "[linux/amd64 cook 3/3] RUN cargo", Started: at(41), Completed: at(99)},
	}}
	ran, took, found := builderStages(res)
	if !ran || !found || took != 41*time.Second {
		t.Fatalf("ran %t took %s found %t", ran, took, found)
	}
	res.Vertexes[0].Cached, res.Vertexes[1].Cached = true, true
	if ran, _, found := builderStages(res); ran || !found {
		t.Fatalf("all cached: ran %t found %t", ran, found)
	}
	if _, _, found := builderStages(&buildkit.Result{Vertexes: res.Vertexes[2:]}); found {
		t.Fatal("found builder steps in a solve without them")
	}
}
