// Package builderimage builds and publishes the muslrust-chef builder base
// image (images/muslrust-chef/Dockerfile) through BuildKit: the helper CLI is
// cross-compiled on the host into a temporary build context, the embedded
// Dockerfile is solved for one or several platforms, and the result is pushed
// as one index (with a registry cache), pushed by digest for split builds,
// loaded into the Docker daemon or written as an OCI layout.
package builderimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	bkclient "github.com/moby/buildkit/client"

	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Labels are the OCI labels set through the Dockerfile's build args.
type Labels struct {
	Version  string // org.opencontainers.image.version
	Revision string // org.opencontainers.image.revision
	Source   string // org.opencontainers.image.source
}

// Spec is what every build of the image needs.
type Spec struct {
	// Platforms to build (the host's only for Build).
	Platforms []platform.Platform
	// MuslrustImage overrides the Dockerfile's clux/muslrust pin.
	MuslrustImage string
	// CargoChef selects the cargo-chef release (zero value: the pin).
	CargoChef CargoChef
	// NoCross skips the cross-compilation toolchain (the other musl Rust
	// target, zig behind the helper's wrapper) and leaves the image's
	// io.muslrust-chef.cross declaration empty.
	NoCross bool
	// Zig overrides the Dockerfile's zig download (zero value: the pin).
	Zig Zig
	// BuildArgs are further Dockerfile build arguments (ParseBuilderArgs);
	// MuslrustImage, CargoChef, NoCross, Zig and Labels win over them.
	BuildArgs map[string]string
	Labels    Labels
	// GoEnv is added to the environment of the helper's go build.
	GoEnv []string
	// Insecure allows plain-HTTP registries for push and cache.
	Insecure bool
	// OnStatus sees BuildKit's progress updates (tests, metrics).
	OnStatus func(*bkclient.SolveStatus)
}

// Pushed is the outcome of Push.
type Pushed struct {
	// Digest of the pushed index (or of the one platform's image with
	// PushByDigest).
	Digest string
	// Ref is repo@digest: what to pull, or to hand to image:merge.
	Ref string
	// Tags are the tag references pushed (none with PushByDigest).
	Tags []string
	// Cache is the registry cache used.
	Cache buildcache.Spec
	// Result is BuildKit's answer (steps, cache hits).
	Result *buildkit.Result
}

// PushRequest is one image:push.
type PushRequest struct {
	Spec
	// Repo is the repository pushed to.
	Repo name.Repository
	// Tags are full tag references (required unless PushByDigest).
	Tags []name.Tag
	// PushByDigest pushes one untagged image per run (split builds).
	PushByDigest bool
	// Cache is imported and exported.
	Cache buildcache.Spec
}

// Push builds every platform of req and pushes them as one index (BuildKit
// pushes each platform's manifest before the index that names them).
func Push(ctx context.Context, b buildkit.Builder, req PushRequest) (*Pushed, error) {
	if len(req.Platforms) == 0 {
		return nil, errors.New("no platform to build: give linux/amd64 and/or linux/arm64")
	}
	if req.Repo.RepositoryStr() == "" {
		return nil, option.Usagef("no image repository to push to: set %s to registry/org/muslrust-chef", option.Env(option.PublishImage))
	}
	out := &buildkit.ImageOutput{Push: true}
	if req.PushByDigest {
		if len(req.Platforms) != 1 {
			return nil, fmt.Errorf("push by digest builds one platform per run (got %s): run one image:push per platform, then image:merge", platform.Join(req.Platforms))
		}
		out = &buildkit.ImageOutput{PushByDigest: true, Names: []string{req.Repo.Name()}}
	} else {
		if len(req.Tags) == 0 {
			return nil, option.Usagef("no tag to push %s with: run on a git tag %sX.Y.Z, set %s, pass %s, or push by digest (%s=true)", req.Repo.Name(), "muslrust-chef-v",
				option.Env(option.Tags), option.Env(option.DockerMetadata), option.Env(option.PushByDigest))
		}
		for _, t := range req.Tags {
			out.Names = append(out.Names, t.Name())
		}
	}
	r, err := prepare(ctx, req.Spec)
	if err != nil {
		return nil, err
	}
	defer r.cleanup()
	r.req.Image = out
	r.req.CacheFrom = req.Cache.From
	r.req.CacheTo = req.Cache.To
	res, err := b.Solve(ctx, r.req)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(res.Digest, "sha256:") {
		return nil, fmt.Errorf("BuildKit reported no pushed digest (exporter response %v): check the BuildKit version", res.ExporterResponse)
	}
	p := &Pushed{Digest: res.Digest, Ref: req.Repo.Digest(res.Digest).Name(), Cache: req.Cache, Result: res}
	if !req.PushByDigest {
		p.Tags = out.Names
	}
	return p, nil
}

// Output is where Build puts the image.
type Output struct {
	Kind string // "docker" or "oci"
	Dir  string // for oci
}

// ParseOutput reads "docker" or "oci:DIR".
func ParseOutput(s string) (Output, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || s == "docker":
		return Output{Kind: "docker"}, nil
	case strings.HasPrefix(s, "oci:") && len(s) > len("oci:"):
		return Output{Kind: "oci", Dir: s[len("oci:"):]}, nil
	}
	return Output{}, fmt.Errorf("unknown output %q: use docker (load into the Docker daemon) or oci:DIR (an OCI image layout)", s)
}

// BuildRequest is one image:build.
type BuildRequest struct {
	Spec
	// Name is the image reference recorded (docker: the loaded tag).
	Name string
	// Output is docker or oci:DIR.
	Output Output
	// CacheFrom are registry caches to import (no export from a local build).
	CacheFrom []string
	// Docker loads the image when Output is docker and BuildKit is not
	// the daemon's own (nil: the local socket's daemon).
	Docker *DockerLoader
}

// Built is the outcome of Build.
type Built struct {
	// Where names the result: the loaded tag, or DIR for a layout.
	Where  string
	Result *buildkit.Result
}

// Build builds one platform (normally the host's) and loads it into the
// Docker daemon or writes an OCI layout; a failed build leaves neither a
// half-loaded image nor a half-written layout.
func Build(ctx context.Context, b buildkit.Builder, req BuildRequest) (*Built, error) {
	if len(req.Platforms) != 1 {
		return nil, fmt.Errorf("image:build builds one platform (got %s): use image:push for a multi-platform index", platform.Join(req.Platforms))
	}
	if req.Name == "" {
		req.Name = "muslrust-chef:dev"
	}
	ref, err := name.NewTag(req.Name)
	if err != nil {
		return nil, fmt.Errorf("image name %q is not a valid reference (%w): use name[:tag]", req.Name, err)
	}
	var load *DockerLoader
	if req.Output.Kind == "docker" && b.Endpoint().Caps.ImageExporter {
		// BuildKit streams a docker archive that the daemon loads; check
		// the daemon first so a build is not wasted.
		load = req.Docker
		if load == nil {
			if load, err = NewDockerLoader(); err != nil {
				return nil, err
			}
			defer load.Close()
		}
		if err := load.Ping(ctx); err != nil {
			return nil, err
		}
	}
	r, err := prepare(ctx, req.Spec)
	if err != nil {
		return nil, err
	}
	defer r.cleanup()
	r.req.CacheFrom = req.CacheFrom

	switch {
	case req.Output.Kind == "oci":
		dst, err := filepath.Abs(req.Output.Dir)
		if err != nil {
			return nil, err
		}
		var res *buildkit.Result
		err = WriteLayout(dst, func(dir string) error {
			r.req.OCILayout = &buildkit.OCILayoutOutput{Dir: dir, Names: []string{ref.Name()}}
			res, err = b.Solve(ctx, r.req)
			return err
		})
		if err != nil {
			return nil, err
		}
		return &Built{Where: dst, Result: res}, nil
	case load == nil:
		// The Docker daemon's own BuildKit (classic store) keeps the
		// image itself: its "moby" exporter.
		r.req.Image = &buildkit.ImageOutput{Names: []string{req.Name}}
		res, err := b.Solve(ctx, r.req)
		if err != nil {
			return nil, err
		}
		return &Built{Where: req.Name, Result: res}, nil
	default:
		res, err := load.Load(ctx, func(w io.WriteCloser) (*buildkit.Result, error) {
			r.req.Archive = &buildkit.ArchiveOutput{Format: "docker", Names: []string{ref.Name()}, Writer: w}
			return b.Solve(ctx, r.req)
		})
		if err != nil {
			return nil, err
		}
		return &Built{Where: req.Name, Result: res}, nil
	}
}

type prepared struct {
	req     buildkit.Request
	cleanup func()
}

// prepare checks the spec, cross-compiles the helper into a temporary
// build context and fills in the Dockerfile, platforms and build args.
func prepare(ctx context.Context, s Spec) (*prepared, error) {
	chef, err := s.CargoChef.buildArgs(s.Platforms)
	if err != nil {
		return nil, err
	}
	args := map[string]string{}
	for k, v := range s.BuildArgs {
		args[k] = v
	}
	for k, v := range chef {
		args[k] = v
	}
	if s.MuslrustImage != "" {
		if _, err := name.ParseReference(s.MuslrustImage); err != nil {
			return nil, fmt.Errorf("muslrust image %q is not a valid reference (%w): use clux/muslrust:<version>-stable-<date>[@sha256:...]", s.MuslrustImage, err)
		}
		args["MUSLRUST_IMAGE"] = s.MuslrustImage
	}
	if s.NoCross {
		// The Dockerfile skips each step on an empty version, and refuses a
		// cross declaration without them.
		for _, a := range []string{"CROSS_RUST_TARGETS", "ZIG_VERSION", muslrustchef.ArgCrossPlatforms} {
			args[a] = ""
		}
	}
	if err := s.Zig.buildArgs(args); err != nil {
		return nil, err
	}
	args[muslrustchef.ArgVersion] = s.Labels.Version
	args[muslrustchef.ArgRevision] = s.Labels.Revision
	args[muslrustchef.ArgSource] = s.Labels.Source

	dir, cleanup, err := builder.Context(ctx, s.Platforms, builder.WithVersion(s.Labels.Version), builder.WithGoEnv(s.GoEnv...))
	if err != nil {
		return nil, err
	}
	ps := make([]string, len(s.Platforms))
	for i, p := range s.Platforms {
		ps[i] = p.String()
	}
	return &prepared{cleanup: cleanup, req: buildkit.Request{
		ContextDir:        dir,
		DockerfileContent: muslrustchef.Dockerfile,
		Platforms:         ps,
		BuildArgs:         args,
		// The Dockerfile reads the helper and the download script from
		// this named context (it is also a stage of rust:build's solve,
		// whose main context is the Rust workspace).
		NamedContexts: map[string]string{muslrustchef.ContextName: dir},
		Insecure:      s.Insecure,
		OnStatus:      s.OnStatus,
	}}, nil
}

// WriteLayout writes the OCI layout at dst through write, which fills the
// directory it is given: a sibling temporary directory that replaces dst in
// one swap when write succeeds (internal/atomicdir). A non-empty dst the
// kit did not write is refused before write runs.
func WriteLayout(dst string, write func(dir string) error) error {
	d, err := atomicdir.Begin(dst, atomicdir.Options{
		Writer: "image:build's OCI image layout",
		Hint:   "set -output / MUSLRUST_CHEF_OUTPUT to oci:<a new or empty directory>",
	})
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	defer d.Abort()
	if err := write(d.Path()); err != nil {
		return err
	}
	if err := d.Commit(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return nil
}
