// Package builderimage builds and publishes the muslrust-chef builder base
// image (images/muslrust-chef/Dockerfile) through BuildKit: the helper CLI is
// cross-compiled on the host into a temporary build context, the embedded
// Dockerfile is solved for one or several platforms, and the result is pushed
// as one index (with a registry cache), pushed by digest for split builds,
// loaded into the Docker daemon or written as an OCI layout.
package builderimage

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	bkclient "github.com/moby/buildkit/client"

	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
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
