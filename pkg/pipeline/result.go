package pipeline

import (
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// Result is what a cook or build did: the stages' outputs.
type Result struct {
	Config *Config
	Plan   *chef.Plan
	Solved
	// Binaries maps each platform to dist/<os>_<arch>/<bin> (build only).
	Binaries map[platform.Platform]string
	// Checks are what verify found in each binary (libc, allocator).
	Checks map[platform.Platform]elfcheck.Result
	// Records are each platform's record files beside its binary: the
	// CycloneDX and SPDX SBOMs (unless turned off) and the provenance
	// (build only); a tar output also has copies beside the archive.
	Records map[platform.Platform][]string
	// Manifests are the platform images' manifest digests (build only,
	// from slim on).
	Manifests map[platform.Platform]v1.Hash
	// Why are the "why did cook run" blocks of the platforms whose cook
	// ran (build only; none when every cook was reused).
	Why []CookWhy
	// Published is what the image went to (build only).
	Published publish.Result
	// Timings say where the run spent its time (also a failed run's, up
	// to the stage it failed in).
	Timings Timings
}

// StageRun returns the RUN step of a Dockerfile stage ("cook", "build") for
// a platform ("" matches any) and whether it was found. A cross build has
// one step per stage for all platforms (its cross-cook / cross-build).
func (r *Solved) StageRun(stage string, p string) (buildkit.Vertex, bool) {
	// A split over several nodes: the platform's own solve, which built
	// that platform alone (its steps name no platform).
	for _, n := range r.Nodes {
		if p == "" || n.Platform.String() == p {
			return n.StageRun(stage, "")
		}
	}
	if r.Solve == nil {
		return buildkit.Vertex{}, false
	}
	if r.Strategy == StrategyCross {
		stage, p = crossStage(stage), ""
	}
	for _, v := range r.Solve.Vertexes {
		if isStageRun(v.Name, stage, p) {
			return v, true
		}
	}
	return buildkit.Vertex{}, false
}

func crossStage(stage string) string {
	switch stage {
	case app.StageCook:
		return app.StageCrossCook
	case app.StageBuild:
		return app.StageCrossBuild
	}
	return stage
}

func isStageRun(vertexName, stage, p string) bool {
	// "[linux/amd64 cook 3/3] RUN ..." or "[cook 3/3] RUN ..." (one platform);
	// a cross stage's platform field may read "linux/amd64->arm64".
	head, rest, ok := strings.Cut(strings.TrimPrefix(vertexName, "["), "] ")
	if !ok || !strings.HasPrefix(rest, "RUN ") {
		return false
	}
	f := strings.Fields(head)
	switch len(f) {
	case 2:
		return f[0] == stage
	case 3:
		return f[1] == stage && (p == "" || f[0] == p)
	}
	return false
}

func stageKey(c *Config, p platform.Platform) string {
	if len(c.Platforms) == 1 {
		return ""
	}
	return p.String()
}

func ranOrCached(v buildkit.Vertex) string {
	switch {
	case v.Cached:
		return "reused from cache"
	case v.Started != nil && v.Completed != nil:
		return "ran in " + v.Completed.Sub(*v.Started).Round(100*time.Millisecond).String()
	}
	return "ran"
}
