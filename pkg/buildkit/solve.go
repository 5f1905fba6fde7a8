package buildkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/util/progress/progressui"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
)

// Solve builds req. It checks the request against the endpoint's
// capabilities before anything is sent, so a build that cannot work fails
// in a second with a message saying what to change.
func (b *builder) Solve(ctx context.Context, req Request) (*Result, error) {
	if err := b.check(req); err != nil {
		return nil, err
	}
	opt, cleanup, err := b.solveOpt(req)
	defer cleanup()
	if err != nil {
		return nil, err
	}

	var cacheOut *atomicdir.Dir
	if req.CacheDir != "" {
		if cacheOut, err = atomicdir.Begin(req.CacheDir, atomicdir.Options{Writer: "BuildKit's local cache export",
			Fix: CacheDirFix}); err != nil {
			return nil, fmt.Errorf("cache directory: %w", err)
		}
		defer cacheOut.Abort()
		for i := range opt.CacheExports {
			if opt.CacheExports[i].Type == "local" {
				opt.CacheExports[i].Attrs["dest"] = cacheOut.Path()
			}
		}
	}

	var local *atomicdir.Dir
	if req.Local != nil {
		if local, err = beginLocal(req.Local); err != nil {
			return nil, err
		}
		defer local.Abort()
		for i := range opt.Exports {
			if opt.Exports[i].Type == bkclient.ExporterLocal {
				opt.Exports[i].OutputDir = local.Path()
			}
		}
	}

	disp, err := b.newDisplay()
	if req.NoDisplay {
		disp, err = progressui.NewDisplay(io.Discard, progressui.QuietMode)
	}
	if err != nil {
		return nil, err
	}
	rec := newRecorder()
	statusCh := make(chan *bkclient.SolveStatus)
	dispCh := make(chan *bkclient.SolveStatus)
	var wg sync.WaitGroup
	var warnings []bkclient.VertexWarning
	wg.Add(2)
	go func() {
		// Forward every update; never stop reading early, or the client's
		// status goroutine would block and Solve would never return.
		defer wg.Done()
		defer close(dispCh)
		for ss := range statusCh {
			rec.add(ss)
			dispCh <- ss
			if req.OnStatus != nil {
				req.OnStatus(ss)
			}
		}
	}()
	go func() {
		defer wg.Done()
		// Background: the display must drain dispCh until it is closed,
		// even after ctx is cancelled; Solve closes statusCh when it returns.
		warnings, _ = disp.UpdateFrom(context.Background(), dispCh)
	}()

	resp, solveErr := b.bk.Solve(ctx, nil, opt, statusCh)
	wg.Wait()

	res := &Result{Vertexes: rec.list()}
	for _, w := range warnings {
		res.Warnings = append(res.Warnings, string(w.Short))
	}
	if solveErr != nil {
		return res, b.solveError(ctx, req, solveErr)
	}
	res.ExporterResponse = resp.ExporterResponse
	res.Digest = resp.ExporterResponse[exptypes.ExporterImageDigestKey]
	if res.Digest == "" {
		res.Digest = resp.ExporterResponse["exporter.image.digest"]
	}
	if local != nil {
		if err := local.Commit(); err != nil {
			return res, fmt.Errorf("local output: %w", err)
		}
	}
	if cacheOut != nil {
		if err := cacheOut.Commit(); err != nil {
			return res, fmt.Errorf("cannot store the cache in %s: %w", req.CacheDir, err)
		}
	}
	return res, nil
}

// check refuses, before solving, what the endpoint cannot do.
func (b *builder) check(req Request) error {
	e := b.endpoint
	what := e.Describe()
	fix := "set " + HostEnv + " to a buildkitd, or create a buildx docker-container builder (docker buildx create --use --driver docker-container)"
	if len(req.Platforms) > 1 && !e.Caps.MultiPlatform {
		return fmt.Errorf("%s cannot build several platforms at once (%s): %s", what, strings.Join(req.Platforms, ", "), fix)
	}
	if req.CacheDir != "" && !e.Caps.CacheExport {
		return fmt.Errorf("%s cannot export a cache (local:%s): %s, or build without a cache", what, req.CacheDir, fix)
	}
	if req.CacheTo != "" && !e.Caps.CacheExport {
		return fmt.Errorf("%s cannot export a registry cache (%s): %s, or build without a cache export", what, req.CacheTo, fix)
	}
	if len(req.NamedContexts) > 0 && !e.Caps.NamedContexts {
		return fmt.Errorf("%s is older than BuildKit v0.11 and cannot use named build contexts, which this build needs: upgrade Docker to 23.0 or later, or %s", what, fix)
	}
	if req.Image != nil && req.Image.PushByDigest && !e.Caps.PushByDigest {
		return fmt.Errorf("%s cannot push by digest: %s", what, fix)
	}
	if req.Image != nil && (req.Image.Push || req.Image.PushByDigest) && len(req.Image.Names) == 0 {
		return errors.New("pushing an image needs an image name: give one (registry/repository[:tag])")
	}
	if req.Image != nil && req.Image.PushByDigest && len(req.Image.Names) != 1 {
		return fmt.Errorf("push by digest takes exactly one repository name, got %d: give one name without a tag", len(req.Image.Names))
	}
	for _, p := range req.Platforms {
		spec, err := platforms.Parse(p)
		if err != nil {
			return fmt.Errorf("invalid platform %q: write it as os/arch[/variant], for example linux/arm64", p)
		}
		if !e.supports(spec) {
			return fmt.Errorf("%s cannot build %s: its workers build %s: pick one of those, or install QEMU binfmt handlers on the BuildKit host (apt-get install qemu-user-static binfmt-support) and restart buildkitd",
				what, platforms.Format(platforms.Normalize(spec)), strings.Join(e.Platforms, ", "))
		}
	}
	if req.Local != nil && req.Local.Dir == "" {
		return errors.New("local output needs a directory: set LocalOutput.Dir")
	}
	if req.Archive != nil {
		if req.Archive.Writer == nil {
			return errors.New("archive output needs a writer: set ArchiveOutput.Writer")
		}
		if req.Archive.Format != "docker" && req.Archive.Format != "oci" {
			return fmt.Errorf("archive format %q is unknown: use docker or oci", req.Archive.Format)
		}
		if req.Archive.Format == "docker" && len(req.Platforms) > 1 {
			return errors.New("a docker archive holds one platform: build one platform, or use the oci format or a registry push")
		}
	}
	if req.OCILayout != nil && req.OCILayout.Dir == "" {
		return errors.New("OCI layout output needs a directory: set OCILayoutOutput.Dir")
	}
	if (req.Archive != nil || req.OCILayout != nil) && e.Kind == KindDockerDaemon && !e.Caps.ImageExporter {
		return fmt.Errorf("%s cannot export image archives or OCI layouts: %s", what, fix)
	}
	return nil
}

func (e Endpoint) supports(p ocispecs.Platform) bool {
	if len(e.workerPlatforms) == 0 {
		return true
	}
	for _, w := range e.workerPlatforms {
		if w.m.Match(p) {
			return true
		}
	}
	return false
}

// solveOpt translates a Request into the client's SolveOpt. cleanup removes
// the temporary Dockerfile directory, if one was made; it is always non-nil.
func (b *builder) solveOpt(req Request) (bkclient.SolveOpt, func(), error) {
	var opt bkclient.SolveOpt
	attrs, mounts, cleanup, err := b.frontendInputs(req)
	if err != nil {
		return opt, cleanup, err
	}
	attachables, err := b.attachables(req)
	if err != nil {
		return opt, cleanup, err
	}
	b.exports(req, &opt)
	opt.Frontend = "dockerfile.v0"
	opt.FrontendAttrs = attrs
	opt.LocalMounts = mounts
	opt.Session = attachables
	return opt, cleanup, nil
}
