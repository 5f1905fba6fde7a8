package pipeline

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

// Timings is where a cook or build spent its time: the Go stages timed
// around their calls, the solve's parts read from BuildKit's vertices. A
// failed run carries what it reached, and Failed names the stage it
// stopped in.
type Timings struct {
	// What is "build" or "cook".
	What string
	Plan time.Duration
	SolveTimings
	Verify, Slim, Records, Push time.Duration
	// Total is the whole run, from Build's or Cook's start to its end.
	Total time.Duration
	// Failed is the stage the run failed in (plan, solve, verify, slim,
	// records, push); empty when it succeeded.
	Failed string
	// Nodes are the per-node solves of a build split over several
	// BuildKit nodes; the fields above then hold their union.
	Nodes []NodeTimings
	// reached are the Go stages that started, in order; solved says the
	// solve got far enough to be read (its context measured at least).
	reached []string
	solved  bool
}

// SolveTimings is what one solve spent, from its vertices.
type SolveTimings struct {
	Context ContextTimings
	// Builder is the builder's stages (the kit's own builder) or the pull
	// of a published builder image; Cook and Build are cargo's RUN steps
	// (every platform's).
	Builder, Cook, Build Step
	// Export is the local export of dist (a build) and any image export.
	Export                   time.Duration
	CacheImport, CacheExport time.Duration
	// published says the builder is a published image (pulled, not
	// built).
	published bool
}

// ContextTimings is the main build context: what it holds and how long
// its upload (and the named contexts') took.
type ContextTimings struct {
	Files  int
	Bytes  int64
	Upload time.Duration
}

// Step is a stage that is either reused from a cache or run.
type Step struct {
	// Seen says the solve reached the stage; Reused that every step of it
	// came from a cache.
	Seen, Reused bool
	// Took is how long its steps ran (nothing when reused).
	Took time.Duration
}

// NodeTimings is one node's solve in a split over several BuildKit nodes.
type NodeTimings struct {
	Node      string
	Platforms []string
	SolveTimings
}

// Stage names of Timings.Failed, in the order a build runs them.
const (
	stagePlan    = "plan"
	stageSolve   = "solve"
	stageVerify  = "verify"
	stageSlim    = "slim"
	stageRecords = "records"
	stagePush    = "push"
)

// timer times the stages of one run into its Result's Timings.
type timer struct {
	t     *Timings
	start time.Time
	stage string
	since time.Time
}

func startTimings(what string, r *Result) *timer {
	now := time.Now()
	r.Timings = Timings{What: what}
	return &timer{t: &r.Timings, start: now}
}

// begin ends the running stage and starts the next one.
func (tm *timer) begin(stage string) {
	tm.end()
	tm.stage, tm.since = stage, time.Now()
	tm.t.reached = append(tm.t.reached, stage)
}

func (tm *timer) end() {
	if tm.stage == "" {
		return
	}
	d := time.Since(tm.since)
	switch tm.stage {
	case stagePlan:
		tm.t.Plan = d
	case stageVerify:
		tm.t.Verify = d
	case stageSlim:
		tm.t.Slim = d
	case stageRecords:
		tm.t.Records = d
	case stagePush:
		tm.t.Push = d
	}
	tm.stage = ""
}

// finish closes the run's Timings: the solve's parts, the total, the stage
// a failure stopped in; and logs the timings line.
func (tm *timer) finish(r *Result, err error, log io.Writer) {
	failedIn := tm.stage
	tm.end()
	tm.t.SolveTimings, tm.t.Nodes, tm.t.solved = splitTimings(&r.Solved)
	tm.t.Total = time.Since(tm.start)
	if err != nil {
		if failedIn == "" && len(tm.t.reached) > 0 {
			failedIn = tm.t.reached[len(tm.t.reached)-1]
		}
		tm.t.Failed = failedIn
	}
	fmt.Fprintln(log, tm.t.Line())
}

// splitTimings reads the solve's parts, and each node's of a build split
// over several BuildKit nodes (then the parts are over all nodes: the
// union of their steps' intervals); solved says the solve got far enough
// to be read (its context measured at least).
func splitTimings(s *Solved) (SolveTimings, []NodeTimings, bool) {
	if len(s.Nodes) == 0 {
		return solveTimings(s), nil, s.Solve != nil || s.Context.Files > 0
	}
	var nodes []NodeTimings
	var all Solved
	solved := false
	for _, n := range s.Nodes {
		nodes = append(nodes, NodeTimings{Node: n.Node.Name, Platforms: []string{n.Platform.String()}, SolveTimings: solveTimings(&n.Solved)})
		if n.Solve == nil && n.Context.Files == 0 {
			continue
		}
		if !solved {
			all, solved = n.Solved, true
			all.Solve, all.CookExport = &buildkit.Result{}, &buildkit.Result{}
		}
		if n.Solve != nil {
			all.Solve.Vertexes = append(all.Solve.Vertexes, n.Solve.Vertexes...)
		}
		if n.CookExport != nil {
			all.CookExport.Vertexes = append(all.CookExport.Vertexes, n.CookExport.Vertexes...)
		}
	}
	return solveTimings(&all), nodes, solved
}

// solveTimings reads a solve's parts from its vertices. The cook cache a
// build exports in a second solve beside it (CookExport) counts in the
// cache export, once where both solves exported at the same time.
func solveTimings(s *Solved) SolveTimings {
	ph := s.Solve.Phases()
	st := SolveTimings{
		Context:     ContextTimings{Files: s.Context.Files, Bytes: s.Context.Bytes, Upload: ph.ContextUpload},
		Export:      ph.Export,
		CacheImport: ph.CacheImport,
		CacheExport: ph.CacheExport,
	}
	if s.CookExport != nil && s.Solve != nil {
		both := &buildkit.Result{Vertexes: append(append([]buildkit.Vertex{}, s.Solve.Vertexes...), s.CookExport.Vertexes...)}
		st.CacheExport = both.Phases().CacheExport
	} else if s.CookExport != nil {
		st.CacheExport = s.CookExport.Phases().CacheExport
	}
	if s.Solve == nil {
		return st
	}
	vs := s.Solve.Vertexes
	if s.Builder != nil && s.Builder.Embedded {
		ran, took, found := builderStages(s.Solve)
		st.Builder = Step{Seen: found, Reused: !ran, Took: took}
	} else {
		st.Builder, st.published = stepOf(vs, isBuilderImage), true
	}
	cook, build := app.StageCook, app.StageBuild
	if s.Strategy == StrategyCross {
		cook, build = crossStage(cook), crossStage(build)
	}
	st.Cook = stepOf(vs, func(v buildkit.Vertex) bool { return isStageRun(v.Name, cook, "") })
	st.Build = stepOf(vs, func(v buildkit.Vertex) bool { return isStageRun(v.Name, build, "") })
	return st
}

// stepOf is the Step of the vertices keep selects: reused when all of them
// came from a cache, else how long those that ran were running.
func stepOf(vs []buildkit.Vertex, keep func(buildkit.Vertex) bool) Step {
	var s Step
	s.Reused = true
	for _, v := range vs {
		if !keep(v) {
			continue
		}
		s.Seen = true
		if !v.Cached {
			s.Reused = false
		}
	}
	if !s.Seen {
		return Step{}
	}
	s.Took = buildkit.Busy(vs, func(v buildkit.Vertex) bool { return keep(v) && !v.Cached })
	return s
}

// isBuilderImage says whether a vertex pulls a published builder image:
// the FROM of the builder and cross-builder stages of images/app/Dockerfile
// ("[builder 1/1] FROM ...", "[linux/arm64 builder 1/1] FROM ...").
func isBuilderImage(v buildkit.Vertex) bool {
	head, rest, ok := strings.Cut(strings.TrimPrefix(v.Name, "["), "] ")
	if !ok || !strings.HasPrefix(v.Name, "[") || !strings.HasPrefix(rest, "FROM ") {
		return false
	}
	for _, f := range strings.Fields(head) {
		if f == "builder" || f == "cross-builder" {
			return true
		}
	}
	return false
}

func (t Timings) reachedStage(stage string) bool {
	for _, s := range t.reached {
		if s == stage {
			return true
		}
	}
	return false
}
