package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	bkclient "github.com/moby/buildkit/client"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// solveIn is what the solve stage needs.
type solveIn struct {
	Config  *Config
	Planned planOut
	// What is the log prefix and the stage BuildKit builds: "cook" (the
	// cook stage, exporting only the cache) or "build" (the export stage,
	// dist/<os>_<arch>/<bin> written to Config.Dist).
	What string
	Opts *options
	// BuildKit is the connection to solve on, owned by the caller (a split
	// over several builders passes each node's); nil connects through
	// Opts' connect options and closes the connection when the solve is done.
	BuildKit buildkit.Builder
	// Dist, when set, receives the build's files instead of Config.Dist,
	// which the build context still leaves out (a split over several
	// nodes exports each platform into the run's new dist, split.go).
	Dist string
}

// Solved is what a solve did.
type Solved struct {
	Builder *builder.Builder
	// Strategy is the one used (auto settled); Why says why; BuildPlatform
	// is where the cross stages ran (cross only).
	Strategy, Why string
	BuildPlatform platform.Platform
	// BuilderBuilt says whether the embedded builder's stages ran in this
	// solve (false: reused from cache), and BuilderTook how long they took.
	BuilderBuilt bool
	BuilderTook  time.Duration
	// Cache is the cache used (its cook and rest parts); CacheDir the
	// local cache directory (a local:DIR cache), empty for registry refs.
	Cache    buildcache.Spec
	CacheDir string
	// CookExport is the build's second solve, which exported the cook part
	// of the cache (nil: it did not run, the cook cache was there
	// already); CookExportTook is its wall time, CookExportWait the part
	// of it after the build's own solve had returned (what it added to
	// the run; the rest overlapped the build step).
	CookExport                     *buildkit.Result
	CookExportTook, CookExportWait time.Duration
	// Context is what the main build context sent (the skeleton is sent
	// besides it).
	Context buildkit.ContextStats
	// Solve has BuildKit's vertexes: which steps ran, which were cached.
	Solve *buildkit.Result
	// Logs maps each BuildKit step's name to its output (cargo's lines).
	Logs map[string]string
	// Nodes are the platforms of a split over several BuildKit nodes, one
	// solve each (split.go); Solve and Logs are then empty.
	Nodes []NodeSolved
	// Targets are the cross build's targets (cross only): the flags and
	// toolchain each triple was built and recorded with.
	Targets []Target
	// Template is the cook key's template digest (cookTemplate): the cook
	// stage and the cargo snippets it ran.
	Template string
	// PrevDist are the provenance statements the previous build left in
	// dist, read once this run's turn on dist began and before its export
	// replaced them: what "why did cook run" compares with when there is
	// no image to read (whyCook). Empty for a cook and a split node.
	PrevDist map[platform.Platform][]byte
}

// solve reads the builder, connects to BuildKit, settles the strategy and
// runs the cook stage, or the build with its export of dist. done closes
// what the solve opened; for a build it also ends the turn this run holds
// on dist (export.go), so the caller defers it past publish.
func solve(ctx context.Context, in solveIn) (Solved, func(), error) {
	if in.Config.Strategy == StrategySplit && len(in.Config.Platforms) > 1 && in.BuildKit == nil {
		return solveSplit(ctx, in)
	}
	s, bk, req, done, err := setup(ctx, in)
	if err != nil {
		return s, done, err
	}
	return s, done, run(ctx, bk, in.Opts, req, &s)
}

// setup is solve up to the request it runs: the builder read, BuildKit
// connected (unless in.BuildKit is), the strategy settled and, for a build,
// the turn on dist.
func setup(ctx context.Context, in solveIn) (s Solved, bk buildkit.Builder, req buildkit.Request, done func(), err error) {
	c, o := in.Config, in.Opts
	done = func() {}
	if c.Builder == "" {
		s.Builder, err = builder.Embedded(c.BuilderArgs)
	} else {
		s.Builder, err = builder.Inspect(ctx, c.Builder)
	}
	if err != nil {
		return s, bk, req, done, err
	}
	// Emulate and split need every platform's image; fail before BuildKit
	// is even contacted, as before cross existed.
	if c.Strategy == StrategyEmulate || c.Strategy == StrategySplit {
		if err := s.Builder.Require(c.Platforms); err != nil {
			return s, bk, req, done, err
		}
	}
	if bk = in.BuildKit; bk == nil {
		// BuildKit's connection lines go to the run's log; a caller's own
		// WithConnectOptions(buildkit.WithLog(...)) still wins.
		if bk, err = buildkit.Connect(ctx, append([]buildkit.Option{buildkit.WithLog(o.log)}, o.connect...)...); err != nil {
			return s, bk, req, done, err
		}
		done = func() { bk.Close() }
	}
	bp, bpKnown := buildPlatform(bk.Endpoint().Platforms, o.host)
	if s.Strategy, s.BuildPlatform, s.Why, err = chooseStrategy(c, s.Builder, bp, bpKnown, o.names); err != nil {
		return s, bk, req, done, err
	}
	c.Strategy = s.Strategy
	fmt.Fprintf(o.log, "%s: strategy %s (%s)\n", in.What, s.Strategy, s.Why)
	var cleanup func()
	req, cleanup, err = request(ctx, requestIn{Config: c, Planned: in.Planned, Solved: &s, What: in.What, Opts: o})
	done = then(cleanup, done)
	if err != nil {
		return s, bk, req, done, err
	}
	req.Target = stageTarget(in.What, s.Strategy)
	if in.What == "build" {
		dist := c.Dist
		if in.Dist != "" {
			dist = in.Dist
		}
		release, err := exportTo(ctx, &req, dist, o.log)
		if err != nil {
			return s, bk, req, done, err
		}
		done = then(release, done)
		if in.Dist == "" {
			s.PrevDist = readPrevDist(dist, c.Bin, c.Platforms, o.log)
		}
	}
	return s, bk, req, done, nil
}

// then runs first, then second.
func then(first, second func()) func() {
	return func() { first(); second() }
}

// stageTarget is the Dockerfile stage a cook or build solves.
func stageTarget(what, strategy string) string {
	switch {
	case what == "cook" && strategy == StrategyCross:
		return app.StageCrossCook
	case what == "cook":
		return app.StageCook
	case strategy == StrategyCross:
		return app.StageCrossExport
	}
	return app.StageExport
}

// run runs the request, collecting every step's log lines, and turns a
// failing cargo step into one line quoting cargo's first error. A build
// that exports a cook cache runs the cook export beside it (cookExport).
func run(ctx context.Context, bk buildkit.Builder, o *options, req buildkit.Request, s *Solved) error {
	lc := &logCollector{names: map[string]string{}, logs: map[string]*strings.Builder{}}
	req.OnStatus = lc.add
	var ce *cookExport
	if req.Target != stageTarget("cook", s.Strategy) && (s.Cache.Cook.To != "" || s.Cache.Cook.Dir != "") {
		ce = startCookExport(ctx, bk, o, req, s)
		req.OnStatus = func(ss *bkclient.SolveStatus) { lc.add(ss); ce.watch(ss) }
	}
	res, err := bk.Solve(ctx, req)
	if ce != nil {
		if cerr := ce.finish(res, err); err == nil {
			err = cerr
		}
	}
	s.Solve = res
	s.Logs = lc.byName()
	if s.Builder != nil && s.Builder.Embedded {
		if ran, took, found := builderStages(res); found {
			s.BuilderBuilt, s.BuilderTook = ran, took
			if ran {
				fmt.Fprintf(o.log, "builder: built in %s\n", took.Round(time.Second))
			} else {
				fmt.Fprintln(o.log, "builder: reused")
			}
		}
	}
	if err == nil {
		return nil
	}
	return stepError(err, res, s.Logs)
}

// stepError turns a failed solve into one line: the template's own check
// that stopped a RUN step, or cargo's first error, naming the step.
func stepError(err error, res *buildkit.Result, logs map[string]string) error {
	if res == nil {
		return err
	}
	for _, v := range res.Vertexes {
		if v.Error == "" || !strings.Contains(v.Name, "] RUN ") {
			continue
		}
		head, _, _ := strings.Cut(strings.TrimPrefix(v.Name, "["), "]")
		// The template's own checks (a declared tool missing from the
		// builder, a build platform mismatch) say what to do already.
		if msg := templateError(logs[v.Name]); msg == recordsFailed {
			// cargo's own line says what; the knob says how to build anyway.
			if first := firstCargoError(logs[v.Name]); first != "" {
				msg += ": " + first
			}
			return option.Errorf("%w: fix it, or set %s to false to build without an SBOM", &buildkit.Error{Err: err, Msg: fmt.Sprintf("[%s] %s", head, msg)}, option.Env(buildspec.OptionSBOM))
		} else if msg != "" {
			return &buildkit.Error{Err: err, Msg: fmt.Sprintf("[%s] %s", head, msg)}
		}
		if first := firstCargoError(logs[v.Name]); first != "" {
			return &buildkit.Error{Err: err, Msg: fmt.Sprintf("cargo failed in [%s]: %s: fix it and run again (cargo's full output is in the progress above)", head, first)}
		}
	}
	return err
}

// templateError finds the message of a check in images/app/Dockerfile that
// stopped the step: a line "muslrust-chef: ...".
func templateError(log string) string {
	for _, line := range strings.Split(log, "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "muslrust-chef: "); ok {
			return m
		}
	}
	return ""
}

// firstCargoError finds the first "error..." line cargo or rustc printed.
func firstCargoError(log string) string {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var msg string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "error") {
			msg = line
			// rustc's "error[E0425]: ..." says more than cargo's summary
			// "error: could not compile"; prefer the first specific one.
			if !strings.HasPrefix(line, "error: could not compile") && !strings.HasPrefix(line, "error: aborting") {
				return line
			}
		}
	}
	return msg
}
