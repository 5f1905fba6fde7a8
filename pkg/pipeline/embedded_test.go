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
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
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
	if order[0] != muslrustchef.StageName || order[1] != builder.NativeStageName {
		t.Fatalf("stage order %v: the builder stages must come first", order)
	}
	if byName[muslrustchef.StageName].Platform != "" || byName[builder.NativeStageName].Platform != "$BUILDPLATFORM" {
		t.Fatalf("platforms: target stage %q, native stage %q", byName[muslrustchef.StageName].Platform, byName[builder.NativeStageName].Platform)
	}
	if len(byName[muslrustchef.StageName].Commands) != len(byName[builder.NativeStageName].Commands) || len(byName[builder.NativeStageName].Commands) < 5 {
		t.Fatalf("the builder copies differ: %d and %d commands", len(byName[muslrustchef.StageName].Commands), len(byName[builder.NativeStageName].Commands))
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
