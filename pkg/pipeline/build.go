package pipeline

import (
	"context"
)

// Build plans, cooks, builds and exports dist/<os>_<arch>/<bin> per
// platform, verifies the binaries, builds the slim image and publishes it:
// an index (emulate, cross, split over several BuildKit nodes), or one
// platform's image pushed by digest (split of one platform). The Result's
// Timings say where the time went, also when the build failed; the
// timings line is the last line of the log.
func Build(ctx context.Context, c Config, opts ...Option) (r *Result, err error) {
	o := newOptions(opts)
	r = &Result{Config: &c}
	tm := startTimings("build", r)
	defer func() { tm.finish(r, err, o.log) }()
	tm.begin(stagePlan)
	planned, err := plan(ctx, planIn{Config: &c, What: "build", Workspace: o.workspace, Host: o.host, Registry: o.registry, Log: o.log})
	r.Plan = planned.Plan
	if err != nil {
		return r, err
	}
	tm.begin(stageSolve)
	var done func()
	r.Solved, done, err = solve(ctx, solveIn{Config: &c, Planned: planned, What: "build", Opts: o})
	defer done() // after publish: this run's turn on dist ends here
	if err != nil {
		return r, err
	}
	tm.begin(stageVerify)
	if r.Binaries, r.Checks, err = verify(verifyIn{Config: &c, Solved: &r.Solved, Log: o.log, Names: o.names}); err != nil {
		return r, err
	}
	tm.begin(stageSlim)
	img, err := slimImage(ctx, slimIn{Bin: c.Bin, Dist: c.Dist, Platforms: planned.Platforms, Image: c.Image, Tags: c.Tags,
		Output: planned.Output, Base: c.Base, Read: &planned.Base, Labels: o.labels, Created: o.created, Registry: o.registry, Log: o.log})
	if err != nil {
		return r, err
	}
	tm.begin(stageRecords)
	rec, err := records(ctx, recordsIn{Config: &c, Planned: planned, Solved: &r.Solved, Index: img.Index, Base: img.Base,
		Subject: subjectName(c.Image, c.Bin), Labels: o.labels, Created: o.created, KitVersion: o.kitVersion, Registry: o.registry, Log: o.log})
	r.Records = rec.files()
	if err != nil {
		return r, err
	}
	r.Manifests = rec.manifests()
	if r.Why, err = whyCook(ctx, whyInputs(&c, &r.Solved, rec, img.Tags, planned.Output, o)); err != nil {
		return r, err
	}
	referrers := rec.Referrers
	if c.NoReferrers {
		// The records stay in dist (and beside a tar archive) only.
		referrers = nil
	}
	tm.begin(stagePush)
	r.Published, err = publishImage(ctx, publishIn{Index: img.Index, Tags: img.Tags, Output: planned.Output,
		ByDigest: c.Strategy == StrategySplit && len(c.Platforms) == 1, Platform: c.Platforms[0], Host: o.host, Registry: o.registry,
		Stdout: o.stdout, Log: o.log, GitHubOutput: o.gitHubOutput, Referrers: referrers})
	if err != nil {
		return r, err
	}
	if planned.Output.Kind == "tar" {
		// A tar archive holds no referrers: the records go beside it.
		files, err := rec.besideArchive(planned.Output.Path)
		if err != nil {
			return r, err
		}
		for _, pr := range rec.ByPlatform {
			r.Records[pr.Platform] = append(r.Records[pr.Platform], files...)
		}
	}
	return r, nil
}
