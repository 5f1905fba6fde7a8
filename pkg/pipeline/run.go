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
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	bkclient "github.com/moby/buildkit/client"

	"github.com/muslrust-chef/muslrust-chef/images/app"
	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/baseimage"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/elfcheck"
	"github.com/muslrust-chef/muslrust-chef/pkg/ghoutput"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/slim"
)

// Runtime is what the caller supplies besides the knobs.
type Runtime struct {
	// BuildKit is a connected builder; nil connects with ConnectOptions in
	// buildkit.Connect's order: WithHost or BUILDKIT_HOST, the current
	// buildx builder, the Docker daemon's BuildKit when it can do what the
	// build needs, else a BuildKit container started (or reused) through
	// the Docker API.
	BuildKit       buildkit.Builder
	ConnectOptions []buildkit.Option
	// GitHubOutput is the file step outputs are appended to
	// ($GITHUB_OUTPUT in Actions); empty writes nothing.
	GitHubOutput string
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
	// Credentials for private dependencies (the target reads them from the
	// environment with pkg/config).
	Credentials Credentials
}

// Credentials reach cargo only inside the cook and build RUN steps: tokens
// as a BuildKit secret, the SSH agent as a BuildKit ssh mount. Neither is
// part of a layer, the cache or a build argument.
type Credentials struct {
	// CargoTokens maps CARGO_REGISTRY_TOKEN / CARGO_REGISTRIES_<NAME>_TOKEN
	// to the token.
	CargoTokens map[string]string
	// SSHAgent is the SSH agent socket, forwarded when Cargo.lock has
	// git+ssh sources.
	SSHAgent string
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
	// BuilderBuilt says whether the embedded builder's stages ran in this
	// solve (false: reused from cache), and BuilderTook how long they took.
	BuilderBuilt bool
	BuilderTook  time.Duration
	// Cache is the registry cache used (From imported, To exported);
	// CacheDir the local cache directory instead (MUSLRUST_CHEF_CACHE=local:DIR).
	Cache    baseimage.CacheSpec
	CacheDir string
	// Context is what the main build context sent (the skeleton is sent
	// besides it).
	Context buildkit.ContextStats
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
	slimPlatforms, err := publish.PlatformsForOutput(c.Platforms, out, rt.Host)
	if err != nil {
		return r, err
	}
	if err := publish.CheckBase(ctx, runtimeBase(c.Base), slimPlatforms, rt.RegistryOptions...); err != nil {
		return r, err
	}
	// Two runs on one workspace take turns from export to publish, so dist/
	// and the image never hold one run's binary for one platform and the
	// other run's for another.
	release, err := atomicdir.LockParent(ctx, c.Dist, func() {
		fmt.Fprintf(rt.Log, "build: another run is writing %s; waiting for it to finish\n", c.Dist)
	})
	if err != nil {
		return r, fmt.Errorf("waiting for the other run writing %s: %w", c.Dist, err)
	}
	defer release()
	req.Target = app.StageExport
	if r.Strategy == StrategyCross {
		req.Target = app.StageCrossExport
	}
	req.Local = &buildkit.LocalOutput{Dir: c.Dist, SplitPlatforms: true, Hint: distHint}
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
		if err := elfcheck.RequireAllocator(res, c.RequireAllocator); err != nil {
			return r, err
		}
		r.Binaries[p] = bin
		v, _ := r.StageRun(app.StageCook, stageKey(c, p))
		fmt.Fprintf(rt.Log, "build: %s verified static, %s, %s (cook %s)\n", bin, res.Libc, res.Alloc, ranOrCached(v))
		if w := elfcheck.AllocatorWarning(res); w != "" {
			fmt.Fprintf(rt.Log, "build: %s\n", w)
		}
	}

	if c.Strategy == StrategySplit {
		r.Published, err = pushByDigest(ctx, c, rt)
		return r, err
	}
	r.Published, err = slim.Ship(ctx, slim.Request{
		Bin: c.Bin, Platforms: c.Platforms, Dist: c.Dist, Base: c.Base, Output: out,
		Image: c.Image, Tags: c.Tags, Labels: rt.Labels, Created: rt.Created, Host: rt.Host,
		Stdout: rt.Stdout, Log: rt.Log, RegistryOptions: rt.RegistryOptions, Options: rt.SlimOptions,
		GitHubOutput: rt.GitHubOutput,
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
	base, err := publish.ReadBase(ctx, runtimeBase(c.Base), []platform.Platform{p}, rt.RegistryOptions...)
	if err != nil {
		return publish.Result{}, err
	}
	idx, err := slim.Build(slim.Base(base), c.Bin, []slim.Binary{{Platform: p, Path: filepath.Join(c.Dist, p.DistDir(), c.Bin)}}, opts...)
	if err != nil {
		return publish.Result{}, err
	}
	// The same retries and deadlines as every registry push.
	pushed, err := publish.PushByDigest(ctx, ref.Context(), idx, p, rt.RegistryOptions...)
	if err != nil {
		return publish.Result{}, err
	}
	byDigest, d := pushed.Reference, pushed.Digest
	fmt.Fprintf(rt.Log, "split: pushed %s by digest; merge the platforms' digests with image:merge\n", p)
	fmt.Fprintln(rt.Stdout, byDigest)
	return pushed, ghoutput.Write(rt.GitHubOutput, [2]string{"image", byDigest}, [2]string{"digest", d.String()}, [2]string{"platform", p.String()})
}

// runtimeBase is the base the slim image is built on.
func runtimeBase(base string) string {
	if base == "" {
		return slim.DefaultBase
	}
	return base
}

// prepare resolves the configuration, inspects the builder, connects to
// BuildKit, plans and assembles the solve request shared by cook and build.
// distHint ends the refusal of a dist directory the kit did not write.
const distHint = "set -dist / MUSLRUST_CHEF_DIST to a new or empty directory (default dist)"

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
	// A directory the kit would refuse to replace after the compile is
	// refused now, before the builder, BuildKit or the planner run.
	if dir, ok := strings.CutPrefix(strings.TrimSpace(c.Cache), LocalCachePrefix); ok && strings.TrimSpace(dir) != "" {
		if err := atomicdir.Check(strings.TrimSpace(dir), buildkit.CacheDirHint); err != nil {
			return r, buildkit.Request{}, noop, fmt.Errorf("cache directory: %w", err)
		}
	}
	if what == "build" {
		if err := atomicdir.Check(c.Dist, distHint); err != nil {
			return r, buildkit.Request{}, noop, fmt.Errorf("local output: %w", err)
		}
		if out, err := publish.ParseOutput(c.Output); err == nil {
			if err := publish.CheckOutput(out); err != nil {
				return r, buildkit.Request{}, noop, err
			}
		}
	}
	if c.Builder == "" {
		r.Builder, err = embeddedBuilder(c.BuilderArgs)
	} else {
		r.Builder, err = inspectBuilder(ctx, c.Builder, rt.BuilderOptions...)
	}
	if err != nil {
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
	if r.Strategy != StrategyCross {
		if err := r.Builder.require(c.Platforms); err != nil {
			return r, buildkit.Request{}, done, err
		}
	}
	args, targets, err := buildArgs(c, r.Builder, r.Strategy, r.BuildPlatform, locals, r.Plan.Recipe.WorkspaceDir)
	if err != nil {
		return r, buildkit.Request{}, done, err
	}
	for _, t := range targets {
		fmt.Fprintf(rt.Log, "%s: %s: cargo %s (RUSTFLAGS=%q, strip %t%s) on %s in %s\n", what, t.Platform, strings.Join(crossArgs(t), " "),
			t.Flags.RustFlags, t.Flags.Strip, envSummary(t.Toolchain.Env(t.Flags.Triple)), r.BuildPlatform, r.Builder.Name())
	}
	if r.Strategy != StrategyCross {
		for _, p := range c.Platforms {
			f := c.Flags(p, r.Builder.Libc[p], r.Builder.RustFlags[p])
			fmt.Fprintf(rt.Log, "%s: %s: cargo %s (RUSTFLAGS=%q, strip %t) in %s\n", what, p, strings.Join(f.BuildArgs(), " "), f.RustFlags, f.Strip, r.Builder.Name())
		}
	}

	secrets, ssh, err := credentials(rt, r.Plan, what)
	if err != nil {
		return r, buildkit.Request{}, done, err
	}
	if len(ssh) > 0 {
		args[app.ArgGitCLI] = "true"
	}

	layout, err := newContextLayout(c, r.Plan.Recipe.WorkspaceDir, r.Plan.OutsideDirs)
	if err != nil {
		return r, buildkit.Request{}, done, err
	}
	if r.Context, err = buildkit.MeasureContext(ctx, layout.Dir, layout.Includes, layout.Excludes); err != nil {
		return r, buildkit.Request{}, done, fmt.Errorf("cannot read the build context: %w", err)
	}
	logContext(rt.Log, what, layout, r.Context)
	ps := make([]string, len(c.Platforms))
	for i, p := range c.Platforms {
		ps[i] = p.String()
	}
	dockerfile, err := composeDockerfile(app.Dockerfile, muslrustchef.Dockerfile)
	if err != nil {
		return r, buildkit.Request{}, done, err
	}
	req := buildkit.Request{
		ContextDir:        layout.Dir,
		ContextIncludes:   layout.Includes,
		ContextExcludes:   layout.Excludes,
		DockerfileContent: dockerfile,
		Platforms:         ps,
		BuildArgs:         args,
		NamedContexts:     map[string]string{app.ContextSkeleton: filepath.Join(c.PlanDir, chef.SkeletonDir)},
		Secrets:           secrets,
		SSH:               ssh,
	}
	if r.Builder.Embedded {
		for k, v := range c.BuilderArgs {
			args[k] = v
		}
		dir, cleanup, err := builderContext(ctx, nil)
		if err != nil {
			return r, req, done, err
		}
		closeBuildKit := done
		done = func() { cleanup(); closeBuildKit() }
		req.NamedContexts[muslrustchef.ContextName] = dir
	}
	var why string
	if r.Cache, r.CacheDir, why, err = cacheSpec(ctx, c); err != nil {
		return r, req, done, err
	}
	req.CacheFrom, req.CacheTo, req.CacheDir = r.Cache.From, r.Cache.To, r.CacheDir
	switch {
	case r.CacheDir != "":
		fmt.Fprintf(rt.Log, "%s: local cache: import and export %s (mode=max)\n", what, r.CacheDir)
	case r.Cache.To != "":
		fmt.Fprintf(rt.Log, "%s: registry cache: import %s, export %s (mode=max)\n", what, strings.Join(r.Cache.From, ", "), r.Cache.To)
	case len(r.Cache.From) > 0:
		fmt.Fprintf(rt.Log, "%s: registry cache: import %s\n", what, strings.Join(r.Cache.From, ", "))
	default:
		fmt.Fprintf(rt.Log, "%s: no remote cache (%s): nothing is imported or exported, only this BuildKit's own cache is used\n", what, why)
	}
	return r, req, done, nil
}

// buildArgs turns the configuration and the builder's declarations into the
// embedded Dockerfile's build arguments: the pinned builder, the
// workspace's place under /src, and the cargo flags as shell snippets
// (snippet, crossSnippet) in which every value is single-quoted. The
// Dockerfile uses the other arguments only as quoted environment
// references. The cross targets are returned for the build log.
func buildArgs(c *Config, b *Builder, strategy string, bp platform.Platform, locals []string, workspaceDir string) (map[string]string, []Target, error) {
	wsInImage := path.Join("/src", workspaceDir)
	args := builderArgs(b)
	args[app.ArgWorkspaceDir] = "."
	if workspaceDir != "" {
		args[app.ArgWorkspaceDir] = workspaceDir
	}
	if strategy == StrategyCross {
		// One snippet for all triples, independent of the target platform,
		// so BuildKit solves the cross stages once for every platform.
		targets := c.CrossTargets(b, bp)
		sn, err := crossSnippet(targets, locals, wsInImage, app.OutDir)
		if err != nil {
			return nil, nil, err
		}
		args[app.ArgCross] = sn
		args[app.ArgCrossFrom] = bp.String()
		return args, targets, nil
	}
	// Flags for every platform the builder has (not only the requested
	// ones): build args are part of the cook step's cache key, and this way
	// a split build of one platform shares it with an emulate build.
	for p := range b.Libc {
		sn, err := snippet(c.Flags(p, b.Libc[p], b.RustFlags[p]), locals, wsInImage)
		if err != nil {
			return nil, nil, err
		}
		args[app.ArgFlagsPrefix+p.Arch] = sn
	}
	return args, nil, nil
}

// LocalCachePrefix selects BuildKit's local cache exporter in
// MUSLRUST_CHEF_CACHE: local:<dir>.
const LocalCachePrefix = "local:"

// cacheSpec reads MUSLRUST_CHEF_CACHE like image:push does: refs (the first
// exported), off, local:<dir>, or empty for <image repo>:buildcache-<branch>
// plus the main branch's. A ref is derived only when the image goes to a
// registry: with an OCI layout, a tarball or Docker there may be no
// registry at all (an image named "app" would become a Docker Hub ref).
// Split builds get a per-platform suffix so that the platforms' exports do
// not overwrite each other. why says why there is no cache.
func cacheSpec(ctx context.Context, c *Config) (cs baseimage.CacheSpec, localDir, why string, err error) {
	if dir, ok := strings.CutPrefix(strings.TrimSpace(c.Cache), LocalCachePrefix); ok {
		if dir = strings.TrimSpace(dir); dir == "" {
			return cs, "", "", errors.New("MUSLRUST_CHEF_CACHE=local: needs a directory: local:DIR")
		}
		abs, err := filepath.Abs(dir)
		return cs, abs, "", err
	}
	var repo name.Repository
	why = "MUSLRUST_CHEF_CACHE=" + c.Cache
	if strings.TrimSpace(c.Cache) == "" {
		out, perr := publish.ParseOutput(c.Output)
		switch {
		case perr != nil || out.Kind != "registry":
			why = "the output is " + c.Output + ", not a registry; set MUSLRUST_CHEF_CACHE to registry/repo:tag or local:DIR for one"
		case c.Image == "":
			why = "no MUSLRUST_CHEF_IMAGE or MUSLRUST_CHEF_CACHE"
		default:
			if ref, err := name.ParseReference(c.Image); err == nil {
				repo = ref.Context()
			}
		}
	}
	suffix := ""
	if c.Strategy == StrategySplit {
		suffix = "-" + c.Platforms[0].OS + "-" + c.Platforms[0].Arch
	}
	cs, err = baseimage.ParseCache(c.Cache, repo, baseimage.Branch(ctx, c.MainBranch), c.MainBranch, suffix)
	return cs, "", why, err
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
	if r.Builder != nil && r.Builder.Embedded {
		if ran, took, found := builderStages(res); found {
			r.BuilderBuilt, r.BuilderTook = ran, took
			if ran {
				fmt.Fprintf(rt.Log, "builder: built in %s\n", took.Round(time.Second))
			} else {
				fmt.Fprintln(rt.Log, "builder: reused")
			}
		}
	}
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

// LargeContext is the context size above which the log warns and names the
// largest directories: more than a Rust workspace's sources, usually data
// or build output that .dockerignore should leave out.
const LargeContext = 200 << 20

// logContext prints what the build context sends, and warns when it is
// surprisingly large.
func logContext(w io.Writer, what string, l contextLayout, st buildkit.ContextStats) {
	roots := make([]string, len(l.Roots))
	for i, r := range l.Roots {
		roots[i] = r.Host + " -> " + r.InImage
	}
	fmt.Fprintf(w, "%s: context: %d files, %s: %s\n", what, st.Files, humanBytes(st.Bytes), strings.Join(roots, ", "))
	if st.Bytes <= LargeContext {
		return
	}
	var big []string
	for i, d := range st.Dirs {
		if i == 3 {
			break
		}
		big = append(big, fmt.Sprintf("%s (%s)", filepath.Join(l.Dir, filepath.FromSlash(d.Path)), humanBytes(d.Bytes)))
	}
	fmt.Fprintf(w, "%s: warning: the build context is %s, largest: %s: leave out what the build does not need with a .dockerignore next to Cargo.toml\n", what, humanBytes(st.Bytes), strings.Join(big, ", "))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// credentials turns the caller's credentials into the build's secrets and
// SSH forwarding, and says in the log which (never their values).
func credentials(rt *Runtime, plan *chef.Plan, what string) ([]buildkit.Secret, []buildkit.SSHAgent, error) {
	var secrets []buildkit.Secret
	if toks := rt.Credentials.CargoTokens; len(toks) > 0 {
		names := config.TokenNames(toks)
		var b strings.Builder
		for _, k := range names {
			if strings.ContainsAny(toks[k], "\r\n\x00") || !config.IsCargoTokenEnv(k) {
				return nil, nil, fmt.Errorf("%s cannot be passed to cargo: set it to the token alone, on one line", k)
			}
			b.WriteString(k + "=" + toks[k] + "\n")
		}
		secrets = append(secrets, buildkit.Secret{ID: app.SecretCargoTokens, Value: []byte(b.String())})
		fmt.Fprintf(rt.Log, "%s: cargo registry tokens %s reach cargo as a BuildKit secret (not in any layer or cache)\n", what, strings.Join(names, ", "))
	}
	var ssh []buildkit.SSHAgent
	if srcs := gitSSHSources(plan); len(srcs) > 0 {
		if rt.Credentials.SSHAgent == "" {
			return nil, nil, fmt.Errorf("Cargo.lock has git+ssh sources (%s) but SSH_AUTH_SOCK is not set: start ssh-agent and ssh-add a key that can read them", strings.Join(srcs, ", "))
		}
		ssh = append(ssh, buildkit.SSHAgent{ID: app.SSHDefault, Paths: []string{rt.Credentials.SSHAgent}})
		fmt.Fprintf(rt.Log, "%s: forwarding the SSH agent for git+ssh sources (%s); cargo fetches them with git (CARGO_NET_GIT_FETCH_WITH_CLI=true)\n", what, strings.Join(srcs, ", "))
	}
	return secrets, ssh, nil
}

// gitSSHSources lists the hosts of Cargo.lock's git+ssh sources.
func gitSSHSources(plan *chef.Plan) []string {
	if plan == nil || plan.Recipe.Skeleton.LockFile == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range gitSSHSource.FindAllStringSubmatch(*plan.Recipe.Skeleton.LockFile, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

var gitSSHSource = regexp.MustCompile(`(?m)^source\s*=\s*"git\+ssh://(?:[^@/"]*@)?([^/:"]+)`)
