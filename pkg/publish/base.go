package publish

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Scratch names the empty base image: nothing to read.
const Scratch = "scratch"

// Base is a runtime base image read for the platforms to build: the image
// each platform is built on. Its fields are those of slim.Base, so
// slim.Base(b) converts it. The zero Base is scratch.
type Base struct {
	// Ref is the reference as the user gave it; "" for scratch.
	Ref string
	// Images holds each platform's base image (its digest is the one
	// the base index lists for the platform).
	Images map[platform.Platform]v1.Image
}

// ReadBase resolves ref (repo:tag, repo@sha256:... or Scratch) and picks the
// image for each platform: from an index the manifest for the platform,
// or a single image when it is the platform's. Nothing is downloaded but
// manifests and, for a single image, its config.
func ReadBase(ctx context.Context, ref string, ps []platform.Platform, opts ...RegistryOption) (Base, error) {
	if ref == Scratch {
		return Base{}, nil
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return Base{}, option.Usagef("base image %q is not a valid reference: %w; set %s to repo:tag, repo@sha256:... or scratch", ref, err, option.Env(option.Base))
	}
	// No push deadline: the images are read lazily, their layers when
	// the built image is written, after ReadBase returned.
	ropts := newRegistry(nil, opts).remoteOptions(ctx)
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return Base{}, baseError(ref, err)
	}
	b := Base{Ref: ref, Images: map[platform.Platform]v1.Image{}}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return Base{}, baseError(ref, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return Base{}, fmt.Errorf("base image %s: reading config: %w", ref, err)
		}
		for _, p := range ps {
			if cf.OS != p.OS || cf.Architecture != p.Arch {
				return Base{}, option.Errorf("base image %s is a single %s/%s image and lacks %s; use a multi-platform base (an index) or restrict %s", ref, cf.OS, cf.Architecture, p, option.Env(option.Platforms))
			}
			b.Images[p] = img
		}
		return b, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return Base{}, baseError(ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return Base{}, fmt.Errorf("base image %s: reading index: %w", ref, err)
	}
	for _, p := range ps {
		img, err := forPlatform(ref, idx, im, p)
		if err != nil {
			return Base{}, err
		}
		b.Images[p] = img
	}
	return b, nil
}

// CheckBase reads the base for every platform without building anything,
// so a pipeline can fail in seconds, before a long compile, when the base
// is unreachable or lacks a platform.
func CheckBase(ctx context.Context, ref string, ps []platform.Platform, opts ...RegistryOption) error {
	_, err := ReadBase(ctx, ref, ps, opts...)
	return err
}

func forPlatform(ref string, idx v1.ImageIndex, im *v1.IndexManifest, p platform.Platform) (v1.Image, error) {
	var have []string
	for _, m := range im.Manifests {
		if m.Platform == nil {
			continue
		}
		have = append(have, m.Platform.OS+"/"+m.Platform.Architecture)
		if m.Platform.OS == p.OS && m.Platform.Architecture == p.Arch && (m.Platform.Variant == "" || m.Platform.Variant == p.Variant) {
			img, err := idx.Image(m.Digest)
			if err != nil {
				return nil, fmt.Errorf("base image %s (%s): %s", ref, p, oneline.Err(err))
			}
			return img, nil
		}
	}
	return nil, option.Errorf("base image %s lacks platform %s (it has %s); choose a base that has it or drop it from %s", ref, p, strings.Join(have, ", "), option.Env(option.Platforms))
}

// baseError is the wording of a base image that cannot be read.
func baseError(ref string, err error) error {
	switch p := Classify(err); {
	case p.Kind == NotFound:
		return option.Errorf("base image %s not found in its registry; check %s", ref, option.Env(option.Base))
	case p.Kind == Denied:
		return fmt.Errorf("registry refused access to base image %s (HTTP %d); run docker login for its registry", ref, p.Status)
	case p.Socket || p.Network:
		return option.Errorf("base image %s: registry unreachable (%s); check the network, or use a reachable %s (scratch needs none)", ref, oneline.Err(err), option.Env(option.Base))
	}
	return fmt.Errorf("base image %s: %s", ref, oneline.Err(err))
}
