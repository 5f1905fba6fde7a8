package pipeline

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/slim"
)

// slimIn is what the slim image is built from: the verified binaries of
// dist and the runtime base.
type slimIn struct {
	Bin, Dist string
	// Platforms are the ones published (planOut.Platforms).
	Platforms []platform.Platform
	Image     string
	Tags      []string
	Output    publish.Output
	Base      string
	// Read is the base already read for Platforms (Build's plan read it);
	// nil reads Base.
	Read     *publish.Base
	Labels   slim.Labels
	Created  time.Time
	Registry []publish.RegistryOption
	Log      io.Writer
}

// slimOut is the image index and the tags it is published under (the
// image's own first).
type slimOut struct {
	Index v1.ImageIndex
	Tags  []name.Tag
	// Base is the runtime base the index was built on.
	Base publish.Base
}

// slimImage builds the slim index. The version label, when not given, is
// the image's tag (unless latest): the same rule for every output and for
// split's push by digest, so that a split platform's image is the emulate
// build's platform image, digest for digest.
func slimImage(ctx context.Context, in slimIn) (slimOut, error) {
	image := in.Image
	if image == "" && in.Output.Kind != "registry" {
		image = in.Bin + ":latest"
	}
	var out slimOut
	if image != "" || in.Output.Kind == "registry" {
		var err error
		if out.Tags, err = publish.ParseTags(image, in.Tags); err != nil {
			return slimOut{}, err
		}
	}
	labels := in.Labels
	if labels.Version == "" && len(out.Tags) > 0 && out.Tags[0].TagStr() != "latest" {
		labels.Version = out.Tags[0].TagStr()
	}
	bins := make([]slim.Binary, len(in.Platforms))
	for i, p := range in.Platforms {
		bins[i] = slim.Binary{Platform: p, Path: filepath.Join(in.Dist, p.DistDir(), in.Bin)}
	}
	opts := []slim.Option{slim.WithLabels(labels), slim.WithCreated(in.Created)}
	fmt.Fprintf(in.Log, "slim: %s for %s on %s\n", in.Bin, platform.Join(in.Platforms), baseName(in.Base))
	base := in.Read
	if base == nil {
		b, err := publish.ReadBase(ctx, baseName(in.Base), in.Platforms, in.Registry...)
		if err != nil {
			return slimOut{}, err
		}
		base = &b
	}
	idx, err := slim.Build(slim.Base(*base), in.Bin, bins, opts...)
	if err != nil {
		return slimOut{}, err
	}
	out.Index = idx
	out.Base = *base
	return out, nil
}

func baseName(b string) string {
	if b == "" {
		return slim.DefaultBase
	}
	return b
}
