package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/provenance"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// recordFlags are the cargo flags, program and toolchain environment p's
// binary was built with: the ones its records snippet ran with.
func recordFlags(c *Config, s *Solved, p platform.Platform) (cargo.Flags, string, []string) {
	for _, t := range s.Targets {
		if t.Platform == p {
			program := "cargo"
			if t.Toolchain.Cargo == builder.CargoZigbuild {
				program = "cargo-zigbuild"
			}
			return t.Flags, program, t.Toolchain.Env(t.Flags.Triple)
		}
	}
	return c.Flags(p, s.Builder.Libc[p], s.Builder.RustFlags[p]), "cargo", nil
}

// templateOf is the cook template digest of the solve that built p (a
// split over several nodes has one solve per platform).
func templateOf(s *Solved, p platform.Platform) string {
	for _, n := range s.Nodes {
		if n.Platform == p {
			return n.Template
		}
	}
	return s.Template
}

// builderRecord is the builder as the provenance records it and as the
// cook key names it. A published builder is its pinned digest. The
// embedded builder has no image digest of its own: it is its Dockerfile's
// digest and its base image pinned by digest (the digest BuildKit
// resolved, as its FROM step reports it, else the registry's).
func builderRecord(ctx context.Context, c *Config, s *Solved, registry []publish.RegistryOption) (provenance.Option, string, error) {
	b := s.Builder
	if !b.Embedded {
		_, digest, ok := strings.Cut(b.Pinned, "@")
		if !ok {
			return nil, "", fmt.Errorf("records: builder %s is not pinned by digest: this is a bug in muslrust-chef", b.Pinned)
		}
		return provenance.WithBuilderImage(b.Ref, digest), digest, nil
	}
	base := c.BuilderArgs["MUSLRUST_IMAGE"]
	if base == "" {
		base = builder.DefaultMuslrustImage()
	}
	ref, digest, pinned := strings.Cut(base, "@")
	if !pinned {
		digest = resolvedFrom(s, base)
	}
	if digest == "" {
		rb, err := publish.ReadBase(ctx, base, c.Platforms[:1], registry...)
		if err != nil {
			return nil, "", fmt.Errorf("records: the builder's base image: %w", err)
		}
		h, err := rb.Images[c.Platforms[0]].Digest()
		if err != nil {
			return nil, "", fmt.Errorf("records: the builder's base image: %w", err)
		}
		digest = h.String()
	}
	df := provenance.DigestBytes(muslrustchef.Dockerfile)
	return provenance.WithEmbeddedBuilder(df, ref, digest), df + " " + ref + "@" + digest, nil
}

// resolvedFrom finds the digest BuildKit resolved base to: its FROM step
// is named "[stage n/m] FROM <ref>@sha256:<hex>".
func resolvedFrom(s *Solved, base string) string {
	want, err := name.ParseReference(base)
	if err != nil {
		return ""
	}
	solves := []*buildkit.Result{s.Solve}
	for _, n := range s.Nodes {
		solves = append(solves, n.Solve)
	}
	for _, res := range solves {
		if res == nil {
			continue
		}
		for _, v := range res.Vertexes {
			_, rest, ok := strings.Cut(v.Name, "] FROM ")
			if !ok {
				continue
			}
			d, err := name.NewDigest(strings.Fields(rest)[0])
			if err == nil && d.Context().Name() == want.Context().Name() {
				return d.DigestStr()
			}
		}
	}
	return ""
}

// manifestsByPlatform maps each platform of the slim index to its
// manifest digest, by OS/arch (platform.String; the index also carries
// arm64's variant).
func manifestsByPlatform(idx v1.ImageIndex) (map[string]v1.Hash, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("records: the slim index: %w", err)
	}
	out := map[string]v1.Hash{}
	for _, d := range im.Manifests {
		if d.Platform == nil {
			continue
		}
		out[platform.Platform{OS: d.Platform.OS, Arch: d.Platform.Architecture}.String()] = d.Digest
	}
	return out, nil
}

// runtimeBase is the runtime base's reference and p's digest in it; ""
// for scratch.
func runtimeBase(b publish.Base, p platform.Platform) (string, string, error) {
	img := b.Images[p]
	if b.Ref == "" || b.Ref == publish.Scratch || img == nil {
		return "", "", nil
	}
	d, err := img.Digest()
	if err != nil {
		return "", "", fmt.Errorf("records: the runtime base %s for %s: %w", b.Ref, p, err)
	}
	return b.Ref, d.String(), nil
}

// subjectName is the provenance subject's name: the image repository as
// the user wrote it (no tag, no digest, not expanded with a default
// registry), or the binary's name when no image was named.
func subjectName(image, bin string) string {
	if image == "" {
		return bin
	}
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

func joinBase(paths []string) string {
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	return strings.Join(names, ", ")
}
