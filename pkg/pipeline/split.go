package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// NodeSolved is one platform of a split build spread over several
// BuildKit nodes: where it was built, and that solve's own Solved.
type NodeSolved struct {
	Platform platform.Platform
	Node     buildkit.Node
	// Endpoint is what the node's connection reported (address, native
	// platform, workers' platforms).
	Endpoint buildkit.Endpoint
	Solved
}

// solveSplit is the split strategy with several platforms: each platform
// on a BuildKit node of its own (buildkit.Nodes), all of them in parallel.
// Every node is connected before anything is built, so a node that is down
// fails the run with nothing built, dist untouched and nothing pushed. Each
// node's solve is the one-platform split solve (its own per-platform cache
// refs), with its log lines and progress prefixed by the node's name. The
// platforms' files reach dist in one swap once every node succeeded.
func solveSplit(ctx context.Context, in solveIn) (Solved, func(), error) {
	c, o := in.Config, in.Opts
	s := Solved{Strategy: StrategySplit, Why: "chosen by " + c.StrategyFrom}
	done := func() {}
	var err error
	// The builder first: a builder without every platform fails before any
	// node is contacted, as for the other strategies.
	if c.Builder == "" {
		s.Builder, err = builder.Embedded(c.BuilderArgs)
	} else {
		s.Builder, err = builder.Inspect(ctx, c.Builder)
	}
	if err != nil {
		return s, done, err
	}
	if err := s.Builder.Require(c.Platforms); err != nil {
		return s, done, err
	}
	connect := append([]buildkit.Option{buildkit.WithLog(o.log)}, o.connect...)
	nodes, err := buildkit.Nodes(connect...)
	if err != nil {
		return s, done, err
	}
	placed, closeNodes, err := placeNodes(ctx, c, nodes, connect)
	done = closeNodes
	if err != nil {
		return s, done, err
	}
	for _, pl := range placed {
		fmt.Fprintf(o.log, "split: %s on node %q (%s, %s; %s)\n", pl.p, pl.node.Name, pl.bk.Endpoint().Address, pl.node.Source, pl.why)
	}

	var dist *atomicdir.Dir
	if in.What == "build" {
		// One turn on dist for the whole run, and one swap: the platforms
		// of this run land together or not at all.
		release, err := atomicdir.LockParent(ctx, c.Dist, func() {
			fmt.Fprintf(o.log, "build: another run is writing %s; waiting for it to finish\n", c.Dist)
		})
		if err != nil {
			return s, done, fmt.Errorf("waiting for the other run writing %s: %w", c.Dist, err)
		}
		done = then(release, done)
		s.PrevDist = readPrevDist(c.Dist, c.Bin, c.Platforms, o.log)
		if dist, err = atomicdir.Begin(c.Dist, atomicdir.Options{Writer: "rust:build (split over BuildKit nodes)", Fix: distFix(), Merge: true}); err != nil {
			return s, done, fmt.Errorf("local output: %w", err)
		}
		defer dist.Abort()
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.Nodes = make([]NodeSolved, len(placed))
	dones := make([]func(), len(placed))
	errs := make([]error, len(placed))
	var wg sync.WaitGroup
	for i, pl := range placed {
		pc := *c
		pc.Platforms = []platform.Platform{pl.p}
		// pc.Dist stays: the build context leaves the real dist out.
		nodeOut := ""
		if dist != nil {
			nodeOut = nodeDist(dist.Path(), pl.p)
		}
		po := *o
		po.log = buildkit.PrefixLines(o.log, "["+pl.node.Name+"] ")
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns, nd, err := solve(ctx, solveIn{Config: &pc, Planned: in.Planned, What: in.What, Opts: &po, BuildKit: pl.bk, Dist: nodeOut})
			s.Nodes[i] = NodeSolved{Platform: pl.p, Node: pl.node, Endpoint: pl.bk.Endpoint(), Solved: ns}
			dones[i] = nd
			if err != nil {
				errs[i] = fmt.Errorf("%s on BuildKit node %q: %w", pl.p, pl.node.Name, err)
				cancel(errs[i])
			}
		}()
	}
	wg.Wait()
	done = then(func() {
		for _, d := range dones {
			if d != nil {
				d()
			}
		}
	}, done)
	if err := firstError(errs, context.Cause(ctx)); err != nil {
		return s, done, err
	}
	for _, ns := range s.Nodes {
		fmt.Fprintf(o.log, "split: %s built on node %q\n", ns.Platform, ns.Node.Name)
	}
	if dist != nil {
		for _, pl := range placed {
			from := filepath.Join(nodeDist(dist.Path(), pl.p), pl.p.DistDir())
			if err := os.Rename(from, filepath.Join(dist.Path(), pl.p.DistDir())); err != nil {
				return s, done, fmt.Errorf("collecting %s's files from node %q: %w", pl.p, pl.node.Name, err)
			}
			if err := os.RemoveAll(filepath.Dir(nodeDist(dist.Path(), pl.p))); err != nil {
				return s, done, err
			}
		}
		if err := dist.Commit(); err != nil {
			return s, done, fmt.Errorf("local output: %w", err)
		}
	}
	return s, done, nil
}

// nodeDist is where one node's export goes inside the new dist: a
// directory of its own, whose platform directory moves up once every node
// succeeded.
func nodeDist(tmp string, p platform.Platform) string {
	return filepath.Join(tmp, ".node-"+p.DistDir(), "dist")
}

// firstError is the error of the node that failed first: the others then
// fail with the cancellation it caused, which says less.
func firstError(errs []error, cause error) error {
	if cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
