package pipeline

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	bkclient "github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"

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
	log, to := ce.o.log, ce.req.CacheTo
	if to == "" {
		to = ce.req.CacheDir
	}
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
	fmt.Fprintf(log, "build: cook cache exported to %s in %s\n", to, ce.took.Round(10*time.Millisecond))
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
// cancels it. A build whose cook steps were never seen complete (a
// progress stream without them) decides now, from its final vertexes.
func (ce *cookExport) finish(res *buildkit.Result, buildErr error) error {
	defer ce.cancel()
	if buildErr != nil {
		ce.cancel()
		ce.mu.Lock()
		decided := ce.decided
		ce.decided = true
		ce.mu.Unlock()
		if decided {
			<-ce.done
		}
		return nil
	}
	ce.mu.Lock()
	if !ce.decided && res != nil {
		ce.cooks = map[string]*cookState{}
		ce.mu.Unlock()
		ce.watch(&bkclient.SolveStatus{Vertexes: finalVertexes(res)})
		ce.mu.Lock()
	}
	decided := ce.decided
	ce.decided = true
	ce.mu.Unlock()
	if !decided {
		return nil
	}
	<-ce.done
	if ce.ran {
		ce.s.CookExport, ce.s.CookExportTook = ce.res, ce.took
	}
	return ce.err
}

// finalVertexes turns the build's recorded steps back into a status
// update, for watch.
func finalVertexes(res *buildkit.Result) []*bkclient.Vertex {
	var out []*bkclient.Vertex
	for i, v := range res.Vertexes {
		bv := &bkclient.Vertex{Name: v.Name, Cached: v.Cached, Started: v.Started, Completed: v.Completed, Error: v.Error}
		bv.Digest = digest.FromString(strconv.Itoa(i) + " " + v.Name)
		out = append(out, bv)
	}
	return out
}
