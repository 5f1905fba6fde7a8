package buildkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/platforms"
	dockercliconfig "github.com/docker/cli/cli/config"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
)

// SourceDateEpochEnv is passed through to every build as a build arg: the
// BuildKit Go client (unlike buildx) does not do that by itself, and without
// it image timestamps are not reproducible.
const SourceDateEpochEnv = "SOURCE_DATE_EPOCH"

// Request is one Dockerfile build.
type Request struct {
	// ContextDir is the main build context (the "context" local).
	ContextDir string
	// ContextExcludes are .dockerignore-style patterns never sent from
	// ContextDir (target/, .git, ...), on top of its own .dockerignore.
	ContextExcludes []string
	// ContextIncludes, when set, are the only paths of ContextDir that are
	// sent (directories relative to it): everything else is never even
	// walked.
	ContextIncludes []string
	// Dockerfile is the Dockerfile path; empty means ContextDir/Dockerfile.
	// Ignored when DockerfileContent is set.
	Dockerfile string
	// DockerfileContent is an in-memory Dockerfile (for go:embed templates).
	DockerfileContent []byte
	// Platforms to build ("linux/amd64"); empty means the worker's default.
	Platforms []string
	// Target is the stage to build; empty means the last one.
	Target string
	// BuildArgs are ARG values. SOURCE_DATE_EPOCH from the environment is
	// added unless set here.
	BuildArgs map[string]string
	// NamedContexts maps a context name (used as FROM/COPY --from=<name>) to
	// a local directory, or to a BuildKit source with a scheme
	// (docker-image://ref@digest, oci-layout://...), passed as is.
	NamedContexts map[string]string
	// Secrets for RUN --mount=type=secret,id=<ID>.
	Secrets []Secret
	// SSH are SSH agents forwarded for RUN --mount=type=ssh,id=<ID>.
	SSH []SSHAgent
	// CacheFrom are registry cache refs to import (all of them; a miss is not
	// an error, so importing a branch ref and the main ref is fine).
	CacheFrom []string
	// CacheTo is the registry cache ref to export with mode=max; empty means
	// no cache export.
	CacheTo string
	// CacheDir is a local cache directory (BuildKit's local cache exporter,
	// an OCI layout): imported when it holds a cache, exported with
	// mode=max into a sibling temporary directory that replaces it only
	// after a successful build. Empty means none.
	CacheDir string
	// Image exports an image (pushes it when Push); nil means no image.
	Image *ImageOutput
	// Local writes the final stage's files to a directory; nil means none.
	Local *LocalOutput
	// Archive streams the image as a tarball (for `docker load` or a file);
	// nil means none.
	Archive *ArchiveOutput
	// OCILayout writes the image into an OCI image layout directory; nil
	// means none.
	OCILayout *OCILayoutOutput
	// Insecure lets pushes, pulls of cache and cache exports use plain HTTP /
	// unverified TLS for every registry in this request (tests, local registries).
	Insecure bool
	// OnStatus, when set, sees every progress update (after the display).
	OnStatus func(*bkclient.SolveStatus)
}

// Secret is one build secret. Exactly one of Value, File, Env is used.
type Secret struct {
	ID    string
	Value []byte
	File  string
	Env   string
}

// SSHAgent is one forwarded SSH agent: Paths are agent sockets (or key
// files), as `docker build --ssh id=path`.
type SSHAgent struct {
	ID    string
	Paths []string
}

// ImageOutput configures the image exporter.
type ImageOutput struct {
	// Names are the image references (tags). With PushByDigest, one
	// repository name without a tag.
	Names []string
	// Push pushes the image (an index when several platforms) to the registry.
	Push bool
	// PushByDigest pushes without a tag (for split builds merged later);
	// implies Push.
	PushByDigest bool
	// Attrs are extra exporter attributes (oci-mediatypes, compression, ...).
	Attrs map[string]string
}

// LocalOutput configures the local exporter.
type LocalOutput struct {
	// Dir receives the files. With several platforms (or SplitPlatforms)
	// each platform gets a subdirectory named like linux_amd64.
	Dir string
	// SplitPlatforms forces per-platform subdirectories even for one
	// platform, so that paths do not depend on how many platforms were built.
	SplitPlatforms bool
	// Hint ends the message refusing a Dir the kit did not write: what to
	// set instead (the knob that named Dir).
	Hint string
}

// ArchiveOutput configures the docker/oci tarball exporters.
type ArchiveOutput struct {
	// Format is "docker" (what `docker load` reads) or "oci".
	Format string
	// Names are the image references recorded in the archive.
	Names []string
	// Writer receives the tarball; it is closed when the export ends.
	Writer io.WriteCloser
}

// OCILayoutOutput configures the oci exporter writing a layout directory.
type OCILayoutOutput struct {
	// Dir is the OCI image layout directory (created or updated).
	Dir string
	// Names are the image references recorded in index.json annotations.
	Names []string
}

// Result is what a successful Solve returns.
type Result struct {
	// Digest is the image (or index) digest the image exporter produced:
	// what was pushed. Empty without an image output.
	Digest string
	// ExporterResponse is BuildKit's raw exporter response.
	ExporterResponse map[string]string
	// Vertexes are the build steps in the order they were first reported,
	// with their final state: whether they came from cache, timings, errors.
	Vertexes []Vertex
	// Warnings are the frontend's lint and deprecation warnings.
	Warnings []string
}

// Vertex is the final state of one build step.
type Vertex struct {
	Name      string
	Cached    bool
	Started   *time.Time
	Completed *time.Time
	Error     string
}

// Executed reports whether the step really ran (started, not from cache).
func (v Vertex) Executed() bool { return !v.Cached && v.Started != nil }

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
			Hint: CacheDirHint}); err != nil {
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
	cleanup := func() {}
	var opt bkclient.SolveOpt
	ctxDir, err := existingDir(req.ContextDir, "build context")
	if err != nil {
		return opt, cleanup, err
	}

	dfDir, dfName := "", ""
	if req.DockerfileContent != nil {
		tmp, err := os.MkdirTemp("", "muslrust-chef-dockerfile-")
		if err != nil {
			return opt, cleanup, err
		}
		cleanup = func() { os.RemoveAll(tmp) }
		if err := os.WriteFile(filepath.Join(tmp, "Dockerfile"), req.DockerfileContent, 0o644); err != nil {
			return opt, cleanup, err
		}
		dfDir, dfName = tmp, "Dockerfile"
	} else {
		df := req.Dockerfile
		if df == "" {
			df = filepath.Join(ctxDir, "Dockerfile")
		}
		abs, err := filepath.Abs(df)
		if err != nil {
			return opt, cleanup, err
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() {
			return opt, cleanup, fmt.Errorf("Dockerfile %s not found: give the path of a Dockerfile", df)
		}
		dfDir, dfName = filepath.Dir(abs), filepath.Base(abs)
	}

	mounts := map[string]fsutil.FS{}
	addMount := func(name, dir string, includes, excludes []string) error {
		fs, err := contextFS(dir, includes, excludes)
		if err != nil {
			return fmt.Errorf("cannot use %s as build context %q: %w", dir, name, err)
		}
		mounts[name] = fs
		return nil
	}
	if err := addMount("context", ctxDir, req.ContextIncludes, req.ContextExcludes); err != nil {
		return opt, cleanup, err
	}
	if err := addMount("dockerfile", dfDir, nil, nil); err != nil {
		return opt, cleanup, err
	}

	attrs := map[string]string{"filename": dfName}
	if len(req.Platforms) > 0 {
		norm := make([]string, 0, len(req.Platforms))
		for _, p := range req.Platforms {
			spec, err := platforms.Parse(p)
			if err != nil {
				return opt, cleanup, fmt.Errorf("invalid platform %q: write it as os/arch[/variant], for example linux/arm64", p)
			}
			norm = append(norm, platforms.Format(platforms.Normalize(spec)))
		}
		attrs["platform"] = strings.Join(norm, ",")
	}
	if req.Target != "" {
		attrs["target"] = req.Target
	}
	for k, v := range req.BuildArgs {
		attrs["build-arg:"+k] = v
	}
	if v := b.cfg.sourceDateEpoch; v != "" {
		if _, set := req.BuildArgs[SourceDateEpochEnv]; !set {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return opt, cleanup, fmt.Errorf("%s=%q is not a Unix time in seconds: set it to an integer such as $(git log -1 --format=%%ct), or unset it", SourceDateEpochEnv, v)
			}
			attrs["build-arg:"+SourceDateEpochEnv] = v
		}
	}
	names := make([]string, 0, len(req.NamedContexts))
	for n := range req.NamedContexts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		src := req.NamedContexts[name]
		if strings.Contains(src, "://") {
			attrs["context:"+name] = src
			continue
		}
		dir, err := existingDir(src, "named context "+strconv.Quote(name))
		if err != nil {
			return opt, cleanup, err
		}
		// The local's name only has to be unique and stable; reusing the
		// context name keeps BuildKit's progress output readable.
		local := "named-" + name
		attrs["context:"+name] = "local:" + local
		if err := addMount(local, dir, nil, nil); err != nil {
			return opt, cleanup, err
		}
	}

	cfgFile, err := dockercliconfig.Load(b.cfg.configDir())
	if err != nil {
		return opt, cleanup, fmt.Errorf("cannot read registry credentials: %s: fix or move that Docker config file", oneline.Lines(err))
	}
	attachables := []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: authprovider.LoadAuthConfig(cfgFile),
	})}
	if len(req.Secrets) > 0 {
		sp, err := secretAttachable(req.Secrets)
		if err != nil {
			return opt, cleanup, err
		}
		attachables = append(attachables, sp)
	}
	if len(req.SSH) > 0 {
		cfgs := make([]sshprovider.AgentConfig, len(req.SSH))
		for i, a := range req.SSH {
			cfgs[i] = sshprovider.AgentConfig{ID: a.ID, Paths: a.Paths}
		}
		sp, err := sshprovider.NewSSHAgentProvider(cfgs)
		if err != nil {
			return opt, cleanup, fmt.Errorf("cannot forward the SSH agent: %s: check SSH_AUTH_SOCK (ssh-add -l must list a key)", oneline.Lines(err))
		}
		attachables = append(attachables, sp)
	}

	for _, ref := range req.CacheFrom {
		if ref == "" {
			continue
		}
		a := map[string]string{"ref": ref}
		if req.Insecure {
			a["registry.insecure"] = "true"
		}
		opt.CacheImports = append(opt.CacheImports, bkclient.CacheOptionsEntry{Type: "registry", Attrs: a})
	}
	if req.CacheTo != "" {
		a := map[string]string{"ref": req.CacheTo, "mode": "max"}
		if req.Insecure {
			a["registry.insecure"] = "true"
		}
		opt.CacheExports = append(opt.CacheExports, bkclient.CacheOptionsEntry{Type: "registry", Attrs: a})
	}

	if req.CacheDir != "" {
		if _, err := os.Stat(filepath.Join(req.CacheDir, "index.json")); err == nil {
			opt.CacheImports = append(opt.CacheImports, bkclient.CacheOptionsEntry{Type: "local", Attrs: map[string]string{"src": req.CacheDir}})
		}
		// dest is set by Solve to a temporary sibling of CacheDir.
		opt.CacheExports = append(opt.CacheExports, bkclient.CacheOptionsEntry{Type: "local", Attrs: map[string]string{"mode": "max"}})
	}

	if req.Image != nil {
		a := map[string]string{}
		for k, v := range req.Image.Attrs {
			a[k] = v
		}
		if len(req.Image.Names) > 0 {
			a[string(exptypes.OptKeyName)] = strings.Join(req.Image.Names, ",")
		}
		if req.Image.Push || req.Image.PushByDigest {
			a[string(exptypes.OptKeyPush)] = "true"
		}
		if req.Image.PushByDigest {
			a[string(exptypes.OptKeyPushByDigest)] = "true"
			a[string(exptypes.OptKeyNameCanonical)] = "true"
		}
		if req.Insecure {
			a[string(exptypes.OptKeyInsecure)] = "true"
		}
		typ := bkclient.ExporterImage
		if !b.endpoint.Caps.ImageExporter {
			// dockerd without the containerd store calls its image
			// exporter "moby" (it stores into the daemon); buildx makes
			// the same substitution for its docker driver.
			typ = "moby"
		}
		opt.Exports = append(opt.Exports, bkclient.ExportEntry{Type: typ, Attrs: a})
	}
	if req.Local != nil {
		a := map[string]string{}
		if req.Local.SplitPlatforms {
			a["platform-split"] = "true"
		}
		// OutputDir is filled in by Solve with a temporary directory.
		opt.Exports = append(opt.Exports, bkclient.ExportEntry{Type: bkclient.ExporterLocal, Attrs: a})
	}
	if req.Archive != nil {
		w := req.Archive.Writer
		a := map[string]string{}
		if len(req.Archive.Names) > 0 {
			a[string(exptypes.OptKeyName)] = strings.Join(req.Archive.Names, ",")
		}
		typ := bkclient.ExporterDocker
		if req.Archive.Format == "oci" {
			typ = bkclient.ExporterOCI
		}
		opt.Exports = append(opt.Exports, bkclient.ExportEntry{Type: typ, Attrs: a,
			Output: func(map[string]string) (io.WriteCloser, error) { return w, nil }})
	}
	if req.OCILayout != nil {
		a := map[string]string{"tar": "false"}
		if len(req.OCILayout.Names) > 0 {
			a[string(exptypes.OptKeyName)] = strings.Join(req.OCILayout.Names, ",")
		}
		opt.Exports = append(opt.Exports, bkclient.ExportEntry{Type: bkclient.ExporterOCI, Attrs: a, OutputDir: req.OCILayout.Dir})
	}

	opt.Frontend = "dockerfile.v0"
	opt.FrontendAttrs = attrs
	opt.LocalMounts = mounts
	opt.Session = attachables
	return opt, cleanup, nil
}

func secretAttachable(secrets []Secret) (session.Attachable, error) {
	values := map[string][]byte{}
	var sources []secretsprovider.Source
	for _, s := range secrets {
		if s.ID == "" {
			return nil, errors.New("a build secret has no ID: give each secret the id used in RUN --mount=type=secret,id=...")
		}
		switch {
		case s.Value != nil:
			values[s.ID] = s.Value
		case s.File != "" || s.Env != "":
			if s.File != "" {
				if _, err := os.Stat(s.File); err != nil {
					return nil, fmt.Errorf("secret %q: file %s is not readable: %w: create it or drop the secret", s.ID, s.File, err)
				}
			}
			sources = append(sources, secretsprovider.Source{ID: s.ID, FilePath: s.File, Env: s.Env})
		default:
			return nil, fmt.Errorf("secret %q has no value, file or env: give one", s.ID)
		}
	}
	store, err := secretsprovider.NewStore(sources)
	if err != nil {
		return nil, fmt.Errorf("build secrets: %s", oneline.Lines(err))
	}
	return secretsprovider.NewSecretProvider(multiStore{values: values, next: store}), nil
}

func existingDir(dir, what string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("no %s directory given: set it to a directory", what)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s %s is not a directory: create it or fix the path", what, dir)
	}
	return abs, nil
}

// CacheDirHint ends the refusal of a local cache directory the kit did not
// write.
const CacheDirHint = "give MUSLRUST_CHEF_CACHE=local: a new or empty directory"

// beginLocal starts replacing the local output directory: the exporter
// writes into a sibling temporary directory, which replaces Dir in one swap
// after the solve (internal/atomicdir), so a cancelled, failed or killed
// build never leaves half-written files. Entries the build did not write
// stay: two split builds (one platform each) fill dist/linux_amd64 and
// dist/linux_arm64 one after the other. A non-empty Dir the kit did not
// write is refused before the solve starts.
func beginLocal(out *LocalOutput) (*atomicdir.Dir, error) {
	hint := out.Hint
	if hint == "" {
		hint = "choose a new or empty output directory"
	}
	d, err := atomicdir.Begin(out.Dir, atomicdir.Options{Writer: "BuildKit's local export of the build's files", Hint: hint, Merge: true})
	if err != nil {
		return nil, fmt.Errorf("local output: %w", err)
	}
	return d, nil
}
