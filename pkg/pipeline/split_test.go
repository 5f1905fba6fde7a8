package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// A split over several platforms without a node for each is a usage
// error naming what was found and the knobs that fix it; nothing is built.
func TestPlaceNodesRefusals(t *testing.T) {
	c := &Config{Spec: buildspec.Spec{Platforms: []platform.Platform{amd64(), arm64()}, Strategy: StrategySplit}}
	_, closeAll, err := placeNodes(context.Background(), c, nil, nil)
	closeAll()
	msg := config.Explain(err)
	if !option.Usage(err) || !strings.Contains(msg, "MUSLRUST_CHEF_STRATEGY=split with linux/amd64,linux/arm64 builds each platform on a BuildKit node of its own, and none is configured: set MUSLRUST_CHEF_BUILDKIT_HOST_AMD64 and MUSLRUST_CHEF_BUILDKIT_HOST_ARM64") {
		t.Errorf("no nodes: %q (usage %t)", msg, option.Usage(err))
	}

	// One node, native amd64 (the shared buildkitd on this amd64 machine):
	// linux/arm64 has none.
	testinfra.RequireHostArch(t, "amd64", "the shared buildkitd is taken for an amd64 node")
	addr := testinfra.Buildkitd(t)
	nodes, err := buildkit.Nodes(buildkit.WithHostFrom(addr, "BUILDKIT_HOST"))
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	placed, closeAll, err := placeNodes(context.Background(), c, nodes, []buildkit.Option{buildkit.WithLog(&log)})
	closeAll()
	msg = config.Explain(err)
	if !option.Usage(err) || placed != nil ||
		!strings.Contains(msg, `MUSLRUST_CHEF_STRATEGY=split: no BuildKit node builds linux/arm64 (node "BUILDKIT_HOST" (`+addr+`, BUILDKIT_HOST) runs on linux/amd64): set MUSLRUST_CHEF_BUILDKIT_HOST_ARM64, or add a node for it`) {
		t.Errorf("no arm64 node: %q (usage %t)", msg, option.Usage(err))
	}
}

// A split over several nodes answers StageRun from the node that built
// the platform, so that verify's and cook's lines say ran or reused.
func TestStageRunOfNodes(t *testing.T) {
	at := time.Unix(100, 0)
	node := func(p platform.Platform, cached bool) NodeSolved {
		return NodeSolved{Platform: p, Solved: Solved{Strategy: StrategySplit, Solve: &buildkit.Result{Vertexes: []buildkit.Vertex{
			{Name: "[cook 3/3] RUN cargo build", Cached: cached, Started: &at, Completed: &at}}}}}
	}
	r := Solved{Strategy: StrategySplit, Nodes: []NodeSolved{node(amd64(), true), node(arm64(), false)}}
	if v, ok := r.StageRun("cook", "linux/arm64"); !ok || v.Cached {
		t.Errorf("arm64's cook: %+v %t, want the arm64 node's (ran)", v, ok)
	}
	if v, ok := r.StageRun("cook", "linux/amd64"); !ok || !v.Cached {
		t.Errorf("amd64's cook: %+v %t, want the amd64 node's (cached)", v, ok)
	}
	if _, ok := r.StageRun("build", "linux/amd64"); ok {
		t.Error("found a build step no node ran")
	}
}

// The timings of a split over several nodes keep each node's solve, and
// their union says the slowest node's time and "reused" only when every
// node reused.
func TestSplitTimings(t *testing.T) {
	at := time.Unix(100, 0)
	node := func(name string, p platform.Platform, cook time.Duration) NodeSolved {
		end := at.Add(cook)
		return NodeSolved{Platform: p, Node: buildkit.Node{Name: name}, Solved: Solved{Strategy: StrategySplit, Solve: &buildkit.Result{Vertexes: []buildkit.Vertex{
			{Name: "[cook 3/3] RUN cargo build", Cached: cook == 0, Started: &at, Completed: &end},
			{Name: "[build 3/3] RUN cargo build", Cached: true, Started: &at, Completed: &at}}}}}
	}
	u, per := splitTimings([]NodeSolved{node("amd64", amd64(), 0), node("arm", arm64(), 10*time.Second)})
	if len(per) != 2 || per[0].Node != "amd64" || per[1].Platforms[0] != "linux/arm64" || !per[0].Cook.Reused || per[1].Cook.Took != 10*time.Second {
		t.Errorf("per node: %+v", per)
	}
	if !u.Cook.Seen || u.Cook.Reused || u.Cook.Took != 10*time.Second || !u.Build.Reused {
		t.Errorf("union: cook %+v, build %+v", u.Cook, u.Build)
	}
}
