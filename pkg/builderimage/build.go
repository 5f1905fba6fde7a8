package builderimage

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

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
		err = publish.WriteLayout(dst, "image:build's OCI image layout", func(dir string) error {
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
