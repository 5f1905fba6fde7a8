package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	bkclient "github.com/moby/buildkit/client"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

// cookExport is the second solve of a build that exports a cook cache.
// BuildKit exports a cache per solve, from the solve's target: the build
// exports only the rest (mode=min), and this solve, cut at the cook stage,
// exports the cook layers (mode=max). It starts as soon as the build's
// cook steps are done, and only when a cook ran, or was reused while no
// cook cache exists where it is exported: a cook imported from the cache
// is never exported again. It overlaps the build step (the local crates'
// compile), and finds every step in BuildKit's own cache.
type cookExport struct {
	ctx    context.Context
	cancel context.CancelFunc
	bk     buildkit.Builder
	o      *options
	req    buildkit.Request
	stage  string
	expect int
	// present is the answer of cookCached, asked at the start.
	present     chan struct{}
	isThere     bool
	whereCached string

	mu      sync.Mutex
	cooks   map[string]*cookState
	decided bool
	done    chan struct{}
	res     *buildkit.Result
	err     error
	took    time.Duration
	ran     bool
	s       *Solved
}

type cookState struct {
	cached, completed bool
	errored           bool
}

func startCookExport(ctx context.Context, bk buildkit.Builder, o *options, req buildkit.Request, s *Solved) *cookExport {
	ctx, cancel := context.WithCancel(ctx)
	ce := &cookExport{ctx: ctx, cancel: cancel, bk: bk, o: o, req: cookRequest(req, s.Cache, s.Strategy),
		stage: app.StageCook, expect: len(req.Platforms), present: make(chan struct{}),
		cooks: map[string]*cookState{}, done: make(chan struct{}), s: s}
	if s.Strategy == StrategyCross {
		// One cross-cook step for every platform (built on the build platform).
		ce.stage, ce.expect = app.StageCrossCook, 1
	}
	if ce.expect == 0 {
		ce.expect = 1
	}
	go func() {
		defer close(ce.present)
		ce.isThere, ce.whereCached = cookCached(ctx, s.Cache)
	}()
	return ce
}

// watch follows the build's cook steps; when every one is done, it
// decides (without blocking the build's progress) whether to export.
func (ce *cookExport) watch(ss *bkclient.SolveStatus) {
	ce.mu.Lock()
	defer ce.mu.Unlock()
	if ce.decided {
		return
	}
	for _, v := range ss.Vertexes {
		if !isStageRun(v.Name, ce.stage, "") {
			continue
		}
		st := ce.cooks[v.Digest.String()]
		if st == nil {
			st = &cookState{}
			ce.cooks[v.Digest.String()] = st
		}
		st.cached = st.cached || v.Cached
		st.completed = st.completed || v.Completed != nil
		st.errored = st.errored || v.Error != ""
	}
	if len(ce.cooks) < ce.expect {
		return
	}
	ran := false
	for _, st := range ce.cooks {
		if !st.completed || st.errored {
			return
		}
		ran = ran || !st.cached
	}
	ce.decided = true
	go ce.decide(ran)
}

// decide starts the export when it is needed, else closes done at once.
func (ce *cookExport) decide(ran bool) {
	defer close(ce.done)
	log, to := ce.o.log, ce.to()
	if !ran {
		select {
		case <-ce.present:
		case <-ce.ctx.Done():
			return
		}
		if ce.isThere {
			fmt.Fprintf(log, "build: cook reused and its cache is at %s: no cook cache export\n", ce.whereCached)
			return
		}
		fmt.Fprintf(log, "build: cook reused, but no cook cache was found at %s: exporting it to %s (mode=max) beside the build\n", ce.tried(), to)
	} else {
		fmt.Fprintf(log, "build: cook ran: exporting its cache to %s (mode=max) beside the build\n", to)
	}
	ce.ran = true
	start := time.Now()
	ce.res, ce.err = ce.bk.Solve(ce.ctx, ce.req)
	ce.took = time.Since(start)
	if ce.err != nil {
		ce.err = fmt.Errorf("exporting the cook cache to %s: %w", to, ce.err)
		return
	}
	if ce.res != nil {
		for _, v := range ce.res.Vertexes {
			if isStageRun(v.Name, ce.stage, "") && v.Executed() {
				// Not wrong, only slow: BuildKit did not find the build's
				// cook result (a cache pruned between the two solves).
				fmt.Fprintf(log, "build: the cook export ran %s again instead of reusing the build's\n", v.Name)
			}
		}
	}
}

func (ce *cookExport) tried() string {
	if ce.s.Cache.Cook.Dir != "" {
		return ce.s.Cache.Cook.Dir
	}
	return strings.Join(ce.s.Cache.Cook.From, ", ")
}

// finish waits for the export once the build returned. A failed build
// cancels it. A build whose cook steps were not all seen complete (a
// progress stream that missed them, a step merged into another one) decides
// now, from its final vertexes: the export then runs after the build.
func (ce *cookExport) finish(res *buildkit.Result, buildErr error) error {
	defer ce.cancel()
	ce.mu.Lock()
	decided := ce.decided
	ce.decided = true
	ce.mu.Unlock()
	if buildErr != nil {
		ce.cancel()
		if decided {
			<-ce.done
		}
		return nil
	}
	built := time.Now()
	if !decided {
		ran := false
		if res != nil {
			for _, v := range res.Vertexes {
				ran = ran || (isStageRun(v.Name, ce.stage, "") && v.Executed())
			}
		}
		ce.decide(ran)
	}
	<-ce.done
	if ce.ran && ce.err == nil {
		ce.s.CookExport, ce.s.CookExportTook, ce.s.CookExportWait = ce.res, ce.took, time.Since(built)
		fmt.Fprintf(ce.o.log, "build: cook cache exported to %s in %s, %s of it after the build\n", ce.to(),
			ce.took.Round(10*time.Millisecond), ce.s.CookExportWait.Round(10*time.Millisecond))
	}
	return ce.err
}

// to is where the cook cache goes.
func (ce *cookExport) to() string {
	if ce.req.CacheTo != "" {
		return ce.req.CacheTo
	}
	return ce.req.CacheDir
}
