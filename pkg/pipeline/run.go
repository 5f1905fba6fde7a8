package pipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	bkclient "github.com/moby/buildkit/client"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	"github.com/muslrust-chef/muslrust-chef/pkg/baseimage"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/ghoutput"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/slim"
)

// Runtime is what the caller supplies besides the knobs.
type Runtime struct {
	// BuildKit is a connected builder; nil connects with ConnectOptions
	// (BUILDKIT_HOST, the current buildx builder, the Docker daemon).
	BuildKit       buildkit.Builder
	ConnectOptions []buildkit.Option
	// Stdout receives the published reference; Log the progress lines.
	Stdout, Log io.Writer
	// OnStatus sees every BuildKit status update.
	OnStatus func(*bkclient.SolveStatus)
	// Labels, Created and Host are passed to slim as rust:slim does.
	Labels  slim.Labels
	Created time.Time
	Host    platform.Platform
	// RegistryOptions and SlimOptions reach pkg/slim (tests inject transports).
	RegistryOptions []publish.RegistryOption
	SlimOptions     []slim.Option
	// BuilderOptions are used when inspecting the builder image.
	BuilderOptions []remote.Option
}

// Result is what a cook or build did.
type Result struct {
	Config  *Config
	Plan    *chef.Plan
	Builder *Builder
	// Strategy is the one used (auto settled); Why says why; BuildPlatform
	// is where the cross stages ran (cross only).
	Strategy, Why string
	BuildPlatform platform.Platform
	// Cache is the registry cache used (From imported, To exported).
	Cache baseimage.CacheSpec
	// Solve has BuildKit's vertexes: which steps ran, which were cached.
	Solve *buildkit.Result
	// Logs maps each BuildKit step's name to its output (cargo's lines).
	Logs map[string]string
	// Binaries maps each platform to dist/<os>_<arch>/<bin> (build only).
	Binaries map[platform.Platform]string
	// Published is what the image went to (build only).
	Published publish.Result
}

// StageRun returns the RUN step of a Dockerfile stage ("cook", "build") for
// a platform ("" matches any) and whether it was found. A cross build has
// one step per stage for all platforms (its cross-cook / cross-build).
func (r *Result) StageRun(stage string, p string) (buildkit.Vertex, bool) {
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
	if r.Cache.To == "" {
		fmt.Fprintln(rt.Log, "cook: no registry cache configured (MUSLRUST_CHEF_CACHE or MUSLRUST_CHEF_IMAGE): the cook layer stays in this BuildKit's local cache only")
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

// Build plans, cooks, builds, exports dist/<os>_<arch>/<bin> per platform,
// verifies the binaries and publishes the slim image: an index through
// slim.Ship (emulate), or one platform's image pushed by digest (split).
func Build(ctx context.Context, s Settings, rt Runtime) (*Result, error) {
	r, req, done, err := prepare(ctx, s, &rt, "build")
	if err != nil {
		return r, err
	}
	defer done()
	c := r.Config
	out, err := publish.ParseOutput(c.Output)
	if err != nil {
		return r, err
	}
	if out.Kind == "registry" && c.Image == "" {
		return r, errors.New("no image name: the default output pushes to a registry; set MUSLRUST_CHEF_IMAGE (or image in [workspace.metadata.muslrust-chef]), or MUSLRUST_CHEF_OUTPUT=oci:DIR or docker")
	}
	if c.Strategy == StrategySplit && out.Kind != "registry" {
		return r, fmt.Errorf("MUSLRUST_CHEF_STRATEGY=split pushes one platform by digest for image:merge, so it needs MUSLRUST_CHEF_OUTPUT=registry (got %s)", out)
	}
	// Fail in seconds, not after the compile, when the runtime base is
	// unreachable or lacks a platform that will be published.
	slimPlatforms, err := slim.PlatformsForOutput(c.Platforms, out, rt.Host)
	if err != nil {
		return r, err
	}
	baseOpts := rt.SlimOptions
	if c.Base != "" {
		baseOpts = append(append([]slim.Option{}, baseOpts...), slim.WithBase(c.Base))
	}
	if err := slim.CheckBase(ctx, slimPlatforms, baseOpts...); err != nil {
		return r, err
	}
	req.Target = app.StageExport
	if r.Strategy == StrategyCross {
		req.Target = app.StageCrossExport
	}
	req.Local = &buildkit.LocalOutput{Dir: c.Dist, SplitPlatforms: true}
	if err := solve(ctx, rt, req, r); err != nil {
		return r, err
	}

	r.Binaries = map[platform.Platform]string{}
	for _, p := range c.Platforms {
		bin := filepath.Join(c.Dist, p.DistDir(), c.Bin)
		res, err := elfcheck.VerifyLibc(bin, p, expectedLibc(c, r, p))
		if err != nil {
			var le *elfcheck.LibcError
			if errors.As(err, &le) {
				return r, err
			}
			return r, fmt.Errorf("built %s for %s, but it is not a static executable: %v: build with a static toolchain (musl, or gnu with -C target-feature=+crt-static via MUSLRUST_CHEF_RUSTFLAGS)", bin, p, err)
		}
		r.Binaries[p] = bin
		v, _ := r.StageRun(app.StageCook, stageKey(c, p))
		fmt.Fprintf(rt.Log, "build: %s verified static, %s (cook %s)\n", bin, res.Libc, ranOrCached(v))
	}

	if c.Strategy == StrategySplit {
		r.Published, err = pushByDigest(ctx, c, rt)
		return r, err
	}
	r.Published, err = slim.Ship(ctx, slim.Request{
		Bin: c.Bin, Platforms: c.Platforms, Dist: c.Dist, Base: c.Base, Output: out,
		Image: c.Image, Tags: c.Tags, Labels: rt.Labels, Created: rt.Created, Host: rt.Host,
		Stdout: rt.Stdout, Log: rt.Log, RegistryOptions: rt.RegistryOptions, Options: rt.SlimOptions,
	})
	return r, err
}

// pushByDigest publishes the one platform's slim image without a tag, for
// image:merge, and writes digest and image to $GITHUB_OUTPUT.
func pushByDigest(ctx context.Context, c *Config, rt Runtime) (publish.Result, error) {
	p := c.Platforms[0]
	ref, err := name.ParseReference(c.Image)
	if err != nil {
		return publish.Result{}, fmt.Errorf("image %q is not a valid reference: %v; set MUSLRUST_CHEF_IMAGE to repo[:tag]", c.Image, err)
	}
	labels := rt.Labels
	if t, ok := ref.(name.Tag); ok && labels.Version == "" && t.TagStr() != "latest" {
		labels.Version = t.TagStr() // as slim.Ship does, so split and emulate images are identical
	}
	opts := append([]slim.Option{slim.WithLabels(labels), slim.WithCreated(rt.Created)}, rt.SlimOptions...)
	if c.Base != "" {
		opts = append(opts, slim.WithBase(c.Base))
	}
	idx, err := slim.Build(ctx, c.Bin, []slim.Binary{{Platform: p, Path: filepath.Join(c.Dist, p.DistDir(), c.Bin)}}, opts...)
	if err != nil {
		return publish.Result{}, err
	}
	img, _, err := publish.SinglePlatform(idx, p)
	if err != nil {
		return publish.Result{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return publish.Result{}, err
	}
	repo := ref.Context()
	byDigest := repo.Digest(d.String())
	if err := remote.Write(byDigest, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return publish.Result{}, publish.RegistryError(repo.RegistryStr(), repo.Name(), err)
	}
	fmt.Fprintf(rt.Log, "split: pushed %s by digest; merge the platforms' digests with image:merge\n", p)
	fmt.Fprintln(rt.Stdout, byDigest.String())
	res := publish.Result{Reference: byDigest.String(), Digest: d}
	return res, ghoutput.Write([2]string{"image", byDigest.String()}, [2]string{"digest", d.String()}, [2]string{"platform", p.String()})
}

// prepare resolves the configuration, inspects the builder, connects to
// BuildKit, plans and assembles the solve request shared by cook and build.
func prepare(ctx context.Context, s Settings, rt *Runtime, what string) (*Result, buildkit.Request, func(), error) {
	noop := func() {}
	if rt.Log == nil {
		rt.Log = io.Discard
	}
	if rt.Stdout == nil {
		rt.Stdout = os.Stdout
	}
	r := &Result{Logs: map[string]string{}}
	c, err := Resolve(s)
	if err != nil {
		return r, buildkit.Request{}, noop, err
	}
	r.Config = c
	if r.Builder, err = inspectBuilder(ctx, c.Builder, rt.BuilderOptions...); err != nil {
		return r, buildkit.Request{}, noop, err
	}
	// Emulate and split need every platform's image; fail before BuildKit
	// is even contacted, as before cross existed.
	if c.Strategy == StrategyEmulate || c.Strategy == StrategySplit {
		if err := r.Builder.require(c.Platforms); err != nil {
			return r, buildkit.Request{}, noop, err
		}
	}
	done := noop
	if rt.BuildKit == nil {
		bk, err := buildkit.Connect(ctx, rt.ConnectOptions...)
		if err != nil {
			return r, buildkit.Request{}, noop, err
		}
		rt.BuildKit, done = bk, func() { bk.Close() }
	}
	host := rt.Host
	if host.Arch == "" {
		host, _ = platform.Host()
	}
	bp, bpKnown := buildPlatform(rt.BuildKit.Endpoint().Platforms, host)
	if r.Strategy, r.BuildPlatform, r.Why, err = chooseStrategy(c, r.Builder, bp, bpKnown); err != nil {
		return r, buildkit.Request{}, done, err
	}
	c.Strategy = r.Strategy
	fmt.Fprintf(rt.Log, "%s: strategy %s (%s)\n", what, r.Strategy, r.Why)
	if r.Plan, err = chef.PlanAndWrite(chef.Options{Workspace: c.Workspace, Bin: c.Bin}, c.PlanDir, rt.Log); err != nil {
		return r, buildkit.Request{}, done, err
	}
	locals, err := r.Plan.Recipe.LocalPackages()
	if err != nil {
		return r, buildkit.Request{}, done, err
	}
	wsInImage := path.Join("/src", r.Plan.Recipe.WorkspaceDir)
	args := map[string]string{
		app.ArgBuilderImage: r.Builder.Pinned,
		app.ArgWorkspaceDir: ".",
	}
	if r.Plan.Recipe.WorkspaceDir != "" {
		args[app.ArgWorkspaceDir] = r.Plan.Recipe.WorkspaceDir
	}
	if r.Strategy == StrategyCross {
		// One snippet for all triples, independent of the target platform,
		// so BuildKit solves the cross stages once for every platform.
		targets := c.CrossTargets(r.Builder, r.BuildPlatform)
		sn, err := crossSnippet(targets, locals, wsInImage, app.OutDir)
		if err != nil {
			return r, buildkit.Request{}, done, err
		}
		args[app.ArgCross] = sn
		args[app.ArgCrossFrom] = r.BuildPlatform.String()
		for _, t := range targets {
			fmt.Fprintf(rt.Log, "%s: %s: cargo %s (RUSTFLAGS=%q, strip %t%s) on %s in %s\n", what, t.Platform, strings.Join(crossArgs(t), " "),
				t.Flags.RustFlags, t.Flags.Strip, envSummary(t.Toolchain.Env(t.Flags.Triple)), r.BuildPlatform, r.Builder.Pinned)
		}
	} else {
		if err := r.Builder.require(c.Platforms); err != nil {
			return r, buildkit.Request{}, done, err
		}
		// Flags for every platform the builder has (not only the requested
		// ones): build args are part of the cook step's cache key, and this
		// way a split build of one platform shares it with an emulate build.
		for p := range r.Builder.Libc {
			f := c.Flags(p, r.Builder.Libc[p], r.Builder.RustFlags[p])
			sn, err := snippet(f, locals, wsInImage)
			if err != nil {
				return r, buildkit.Request{}, done, err
			}
			args[app.ArgFlagsPrefix+p.Arch] = sn
		}
		for _, p := range c.Platforms {
			f := c.Flags(p, r.Builder.Libc[p], r.Builder.RustFlags[p])
			fmt.Fprintf(rt.Log, "%s: %s: cargo %s (RUSTFLAGS=%q, strip %t) in %s\n", what, p, strings.Join(f.BuildArgs(), " "), f.RustFlags, f.Strip, r.Builder.Pinned)
		}
	}

	ctxDir, excludes, err := contextLayout(c, r.Plan.Recipe.WorkspaceDir)
	if err != nil {
		return r, buildkit.Request{}, done, err
	}
	ps := make([]string, len(c.Platforms))
	for i, p := range c.Platforms {
		ps[i] = p.String()
	}
	req := buildkit.Request{
		ContextDir:        ctxDir,
		ContextExcludes:   excludes,
		DockerfileContent: app.Dockerfile,
		Platforms:         ps,
		BuildArgs:         args,
		NamedContexts:     map[string]string{app.ContextSkeleton: filepath.Join(c.PlanDir, chef.SkeletonDir)},
	}
	if r.Cache, err = cacheSpec(ctx, c); err != nil {
		return r, req, done, err
	}
	req.CacheFrom, req.CacheTo = r.Cache.From, r.Cache.To
	if r.Cache.To != "" {
		fmt.Fprintf(rt.Log, "%s: registry cache: import %s, export %s (mode=max)\n", what, strings.Join(r.Cache.From, ", "), r.Cache.To)
	}
	return r, req, done, nil
}

// cacheSpec reads MUSLRUST_CHEF_CACHE like image:push does: refs (the first
// exported), off, or empty for <image repo>:buildcache-<branch> plus the
// main branch's. Split builds get a per-platform suffix so that the
// platforms' exports do not overwrite each other.
func cacheSpec(ctx context.Context, c *Config) (baseimage.CacheSpec, error) {
	var repo name.Repository
	if c.Image != "" {
		if ref, err := name.ParseReference(c.Image); err == nil {
			repo = ref.Context()
		}
	}
	suffix := ""
	if c.Strategy == StrategySplit {
		suffix = "-" + c.Platforms[0].OS + "-" + c.Platforms[0].Arch
	}
	return baseimage.ParseCache(c.Cache, repo, baseimage.Branch(ctx, c.MainBranch), c.MainBranch, suffix)
}

// crossArgs are a cross target's cargo arguments as the snippet runs them.
func crossArgs(t Target) []string {
	args := t.Flags.BuildArgs()
	if t.Toolchain.Cargo == CargoZigbuild {
		args[0] = CargoZigbuild
	}
	return args
}

func envSummary(env []string) string {
	if len(env) == 0 {
		return ""
	}
	return ", " + strings.Join(env, " ")
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

// solve runs the request, collecting every step's log lines, and turns a
// failing cargo step into one line quoting cargo's first error.
func solve(ctx context.Context, rt Runtime, req buildkit.Request, r *Result) error {
	lc := &logCollector{names: map[string]string{}, logs: map[string]*strings.Builder{}}
	req.OnStatus = func(ss *bkclient.SolveStatus) {
		lc.add(ss)
		if rt.OnStatus != nil {
			rt.OnStatus(ss)
		}
	}
	res, err := rt.BuildKit.Solve(ctx, req)
	r.Solve = res
	r.Logs = lc.byName()
	if err == nil {
		return nil
	}
	if res != nil {
		for _, v := range res.Vertexes {
			if v.Error == "" || !strings.Contains(v.Name, "] RUN ") {
				continue
			}
			head, _, _ := strings.Cut(strings.TrimPrefix(v.Name, "["), "]")
			// The template's own checks (a declared tool missing from the
			// builder, a build platform mismatch) say what to do already.
			if msg := templateError(r.Logs[v.Name]); msg != "" {
				return &buildkit.Error{Err: err, Msg: fmt.Sprintf("[%s] %s", head, msg)}
			}
			if first := firstCargoError(r.Logs[v.Name]); first != "" {
				return &buildkit.Error{Err: err, Msg: fmt.Sprintf("cargo failed in [%s]: %s: fix it and run again (cargo's full output is in the progress above)", head, first)}
			}
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

type logCollector struct {
	mu    sync.Mutex
	names map[string]string
	logs  map[string]*strings.Builder
}

func (l *logCollector) add(ss *bkclient.SolveStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range ss.Vertexes {
		l.names[v.Digest.String()] = v.Name
	}
	for _, lg := range ss.Logs {
		b := l.logs[lg.Vertex.String()]
		if b == nil {
			b = &strings.Builder{}
			l.logs[lg.Vertex.String()] = b
		}
		b.Write(lg.Data)
	}
}

func (l *logCollector) byName() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	for d, b := range l.logs {
		n := l.names[d]
		if n == "" {
			n = d
		}
		out[n] += b.String()
	}
	return out
}
