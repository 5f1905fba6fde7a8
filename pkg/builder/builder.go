// Package builder is the contract between the kit and a builder image: the
// labels it reads (libc, RUSTFLAGS, the cross-compilation declaration), the
// C toolchain per triple, Inspect for a published image, Embedded for the
// kit's own Dockerfile, and the builder stages' named build context.
package builder

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// Labels a builder image may carry; the kit reads them for each platform.
const (
	// LabelLibc is the libc half of the target triple the builder's Rust
	// standard library is for: "musl" (the muslrust-chef image) or "gnu".
	LabelLibc = "io.muslrust-chef.libc"
	// LabelRustFlags are RUSTFLAGS the builder needs for static binaries
	// (the Debian stand-in: -C target-feature=+crt-static).
	LabelRustFlags = "io.muslrust-chef.rustflags"
)

// Builder is the inspected builder image.
type Builder struct {
	// Ref is the reference as configured; Pinned is repo@sha256:... of
	// what was inspected, used as BUILDER_IMAGE so that every stage and
	// every platform of this run uses exactly the same image.
	Ref, Pinned string
	// Libc and RustFlags per platform the image has, from the labels
	// ("" when absent).
	Libc, RustFlags map[platform.Platform]string
	// Cross is each platform image's cross-compilation declaration.
	Cross map[platform.Platform]CrossDecl
	// ZigCache is each platform image's ZIG_GLOBAL_CACHE_DIR ("" when
	// unset or not an absolute path a mount can name): the cross stages
	// mount it as a BuildKit cache, seeded from the image.
	ZigCache map[platform.Platform]string
	// Embedded is the kit's own builder, built from the embedded
	// images/muslrust-chef/Dockerfile in the same solve as cook and build.
	Embedded bool

	// Platforms are the supported platforms the image has; Have lists every
	// platform it has as the registry names them, for messages.
	Platforms map[platform.Platform]bool
	Have      []string
}

// Name is how messages name the builder: the pinned image, or the
// embedded builder's description.
func (b *Builder) Name() string {
	if b.Embedded {
		return b.Ref
	}
	return b.Pinned
}

// Require checks that the image has every platform (emulate and split
// run each platform in its own-architecture image).
func (b *Builder) Require(ps []platform.Platform) error {
	for _, p := range ps {
		if !b.Platforms[p] {
			return option.Errorf("builder image %s has no %s image (it has %s): build only those platforms (%s), or use a builder image for every platform (%s)",
				b.Ref, p, strings.Join(b.Have, ", "), option.Env(option.Platforms), option.Env(option.Builder))
		}
	}
	return nil
}

// Inspect reads every platform image's labels, requiring none: what
// a build needs depends on the strategy (chooseStrategy).
func Inspect(ctx context.Context, ref string, opts ...remote.Option) (*Builder, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, option.Usagef("builder image %q is not a valid reference: set %s to registry/repository:tag", ref, option.Env(option.Builder))
	}
	ropts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, builderError(ref, err)
	}
	b := &Builder{Ref: ref, Pinned: r.Context().Digest(desc.Digest.String()).String(),
		Libc: map[platform.Platform]string{}, RustFlags: map[platform.Platform]string{}, Cross: map[platform.Platform]CrossDecl{},
		ZigCache: map[platform.Platform]string{}}
	images := map[platform.Platform]v1.Image{}
	var have []string
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, builderError(ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, builderError(ref, err)
		}
		for _, m := range im.Manifests {
			if m.Platform == nil || m.Platform.OS == "unknown" {
				continue // attestations
			}
			have = append(have, m.Platform.OS+"/"+m.Platform.Architecture)
			p, err := platform.Parse(m.Platform.OS + "/" + m.Platform.Architecture)
			if err != nil {
				continue
			}
			if _, dup := images[p]; dup {
				continue
			}
			img, err := idx.Image(m.Digest)
			if err != nil {
				return nil, builderError(ref, err)
			}
			images[p] = img
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			return nil, builderError(ref, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, builderError(ref, err)
		}
		have = append(have, cf.OS+"/"+cf.Architecture)
		if p, err := platform.Parse(cf.OS + "/" + cf.Architecture); err == nil {
			images[p] = img
		}
	}
	b.Have = have
	b.Platforms = map[platform.Platform]bool{}
	for p := range images {
		b.Platforms[p] = true
	}
	// Labels of every supported platform the image has, requested or not:
	// the flags of all of them go into the build, so that a one-platform
	// (split) build has the same cache keys as a multi-platform one.
	for p, img := range images {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, builderError(ref, err)
		}
		if err := b.ReadLabels(p, cf.Config.Labels); err != nil {
			return nil, fmt.Errorf("builder image %s (%s) %w", ref, p, err)
		}
		b.ZigCache[p] = zigCache(cf.Config.Env)
	}
	return b, nil
}

// ReadLabels takes platform p's libc, RUSTFLAGS and cross-compilation
// declaration from its image labels, refusing values no such setting has
// (they reach the build's shell snippets, quoted).
func (b *Builder) ReadLabels(p platform.Platform, labels map[string]string) error {
	libc := labels[LabelLibc]
	if libc != "" {
		if _, err := platform.Libc(libc); err != nil {
			return option.Errorf("has label %s=%q: %w; set %s to override it", LabelLibc, libc, err, option.Env(option.Libc))
		}
	}
	b.Libc[p] = libc
	b.RustFlags[p] = labels[LabelRustFlags]
	if err := cargo.CheckText("label "+LabelRustFlags, b.RustFlags[p]); err != nil {
		return option.Errorf("has a wrong label: %w: fix the builder image's labels or set %s", err, option.Env(option.RustFlags))
	}
	cross, err := parseCross(labels)
	if err != nil {
		return fmt.Errorf("has a wrong cross-compilation declaration: %w: fix the builder image's labels", err)
	}
	b.Cross[p] = cross
	return nil
}

// EnvZigCache is zig's global cache directory variable, which builders
// with zig set (and pre-warm) in their image.
const EnvZigCache = "ZIG_GLOBAL_CACHE_DIR"

// zigCache is ZIG_GLOBAL_CACHE_DIR from an image's environment when it is
// a clean absolute path a --mount option can hold (no comma, quote or
// control character); otherwise zig keeps its cache where the image says
// and the cross stages mount nothing.
func zigCache(env []string) string {
	dir := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, EnvZigCache+"="); ok {
			dir = v
		}
	}
	if dir == "" || !path.IsAbs(dir) || path.Clean(dir) == "/" || strings.ContainsAny(dir, ",\"'=$") || cargo.CheckText("", dir) != nil {
		return ""
	}
	return path.Clean(dir)
}

func builderError(ref string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("inspecting builder image %s: %w", ref, err)
	}
	msg := oneline.Err(err)
	switch p := publish.Classify(err); {
	case p.Kind == publish.Denied:
		return option.Errorf("the registry of builder image %s refused the credentials (HTTP %d): run docker login for it, or set %s to an image you can pull", ref, p.Status, option.Env(option.Builder))
	case p.Kind == publish.NotFound:
		return option.Errorf("builder image %s does not exist (%s): fix %s or push the image", ref, msg, option.Env(option.Builder))
	case p.Socket:
		return option.Errorf("builder image %s is unreachable (%s): check %s and that its registry is up", ref, msg, option.Env(option.Builder))
	}
	return option.Errorf("cannot read builder image %s: %s: check %s", ref, msg, option.Env(option.Builder))
}
