package pipeline

import (
	"context"
	"fmt"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Cook plans the workspace and builds only the cook stage for every
// platform, exporting the registry cache: it warms the dependency layer
// (on main, for every branch that imports main's cache).
func Cook(ctx context.Context, s Settings, rt Runtime) (*Result, error) {
	r, req, done, err := prepare(ctx, s, &rt, "cook")
	if err != nil {
		return r, err
	}
	defer done()
	req.Target = app.StageCook
	if r.Strategy == StrategyCross {
		req.Target = app.StageCrossCook
	}
	if err := solve(ctx, rt, req, r); err != nil {
		return r, err
	}
	if r.Strategy == StrategyCross {
		if v, ok := r.StageRun(app.StageCook, ""); ok {
			fmt.Fprintf(rt.Log, "cook: %s on %s %s\n", platform.Join(r.Config.Platforms), r.BuildPlatform, ranOrCached(v))
		}
		return r, nil
	}
	for _, p := range r.Config.Platforms {
		if v, ok := r.StageRun(app.StageCook, stageKey(r.Config, p)); ok {
			fmt.Fprintf(rt.Log, "cook: %s %s\n", p, ranOrCached(v))
		}
	}
	return r, nil
}
