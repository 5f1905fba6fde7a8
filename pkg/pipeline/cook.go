package pipeline

import (
	"context"
	"fmt"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Cook plans the workspace and builds only the cook stage for every
// platform, exporting the registry cache: it warms the dependency layer
// (on main, for every branch that imports main's cache). The Result's
// Timings say where the time went, as for Build.
func Cook(ctx context.Context, c Config, opts ...Option) (r *Result, err error) {
	o := newOptions(opts)
	r = &Result{Config: &c}
	tm := startTimings("cook", r)
	defer func() { tm.finish(r, err, o.log) }()
	tm.begin(stagePlan)
	planned, err := plan(ctx, planIn{Config: &c, What: "cook", Workspace: o.workspace, Log: o.log})
	r.Plan = planned.Plan
	if err != nil {
		return r, err
	}
	tm.begin(stageSolve)
	var done func()
	r.Solved, done, err = solve(ctx, solveIn{Config: &c, Planned: planned, What: "cook", Opts: o})
	defer done()
	if err != nil {
		return r, err
	}
	if r.Strategy == StrategyCross {
		if v, ok := r.StageRun(app.StageCook, ""); ok {
			fmt.Fprintf(o.log, "cook: %s on %s %s\n", platform.Join(c.Platforms), r.BuildPlatform, ranOrCached(v))
		}
		return r, nil
	}
	for _, p := range c.Platforms {
		if v, ok := r.StageRun(app.StageCook, stageKey(&c, p)); ok {
			fmt.Fprintf(o.log, "cook: %s %s\n", p, ranOrCached(v))
		}
	}
	return r, nil
}
