package publish

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
)

// Layout writes an OCI image layout directory holding the index. The layout
// is assembled beside the target and swapped into place (internal/atomicdir),
// so DIR is either the old layout or the new one, never half of each, and a
// non-empty DIR the kit did not write is refused, never deleted.
type Layout struct {
	dir       string
	tags      []name.Tag
	referrers map[v1.Hash][]Artifact
}

// NewLayout returns a publisher for the OCI layout at dir; tags (optional)
// are recorded as org.opencontainers.image.ref.name annotations. The
// records in referrers (optional, by platform manifest digest) are stored
// in the same layout: each artifact manifest, byte for byte the one a
// registry push attaches, listed in index.json with its artifactType and
// no ref.name, so tools that scan the layout for manifests whose subject is
// a platform manifest find them.
func NewLayout(dir string, tags []name.Tag, referrers map[v1.Hash][]Artifact) *Layout {
	return &Layout{dir: dir, tags: tags, referrers: referrers}
}

// Publish implements Publisher.
func (l *Layout) Publish(ctx context.Context, idx v1.ImageIndex) (Result, error) {
	plan, err := planReferrers(idx, l.referrers)
	if err != nil {
		return Result{}, err
	}
	d, err := atomicdir.Begin(l.dir, atomicdir.Options{
		Writer: "the OCI image layout of -output=oci:DIR",
		Fix:    layoutFix,
	})
	if err != nil {
		return Result{}, fmt.Errorf("output: %w", err)
	}
	defer d.Abort()
	p, err := layout.Write(d.Path(), empty.Index)
	if err != nil {
		return Result{}, writeError("the OCI layout", filepath.Dir(l.dir), err)
	}
	idx = withContext(ctx, idx)
	var annotationSets []map[string]string
	for _, t := range l.tags {
		annotationSets = append(annotationSets, map[string]string{
			"org.opencontainers.image.ref.name": t.TagStr(),
			"io.containerd.image.name":          t.Name(),
		})
	}
	if len(annotationSets) == 0 {
		annotationSets = append(annotationSets, nil)
	}
	for _, a := range annotationSets {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		var opts []layout.Option
		if a != nil {
			opts = append(opts, layout.WithAnnotations(a))
		}
		if err := p.AppendIndex(idx, opts...); err != nil {
			if ctx.Err() != nil {
				return Result{}, fmt.Errorf("writing OCI layout %s: %w", l.dir, ctx.Err())
			}
			return Result{}, writeError("the OCI layout", filepath.Dir(l.dir), err)
		}
	}
	refs, err := l.writeReferrers(ctx, p, plan)
	if err != nil {
		return Result{}, err
	}
	// Interrupted after the last blob: keep the old layout.
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("writing OCI layout %s: %w", l.dir, err)
	}
	if err := d.Commit(); err != nil {
		return Result{}, fmt.Errorf("output: %w", err)
	}
	dg, err := idx.Digest()
	if err != nil {
		return Result{}, err
	}
	return Result{Reference: l.dir + "@" + dg.String(), Digest: dg, Referrers: refs}, nil
}

// writeReferrers stores each planned record in the layout being written:
// its blobs, its manifest, and the manifest's descriptor in index.json.
func (l *Layout) writeReferrers(ctx context.Context, p layout.Path, plan []subjectRecords) (map[v1.Hash][]v1.Descriptor, error) {
	if len(plan) == 0 {
		return nil, nil
	}
	out := map[v1.Hash][]v1.Descriptor{}
	for _, s := range plan {
		for _, b := range s.built {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("writing OCI layout %s: %w", l.dir, err)
			}
			for _, blob := range b.blobs {
				if err := writeLayerBlob(p, blob); err != nil {
					return nil, writeError("the OCI layout", filepath.Dir(l.dir), err)
				}
			}
			if err := p.WriteBlob(b.desc.Digest, io.NopCloser(bytes.NewReader(b.raw))); err != nil {
				return nil, writeError("the OCI layout", filepath.Dir(l.dir), err)
			}
			if err := p.AppendDescriptor(b.desc); err != nil {
				return nil, writeError("the OCI layout", filepath.Dir(l.dir), err)
			}
			out[s.subject.Digest] = append(out[s.subject.Digest], b.desc)
		}
	}
	return out, nil
}

// writeLayerBlob stores a layer's compressed bytes under its digest (the
// empty config and the documents are stored as they are).
func writeLayerBlob(p layout.Path, l v1.Layer) error {
	d, err := l.Digest()
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	return p.WriteBlob(d, rc)
}

// Close implements Publisher.
func (l *Layout) Close() error { return nil }

// WriteLayout has write fill a new OCI image layout directory that then
// replaces dst whole (internal/atomicdir): dst is the old layout or the new
// one, never half of each, and a non-empty dst the kit did not write is
// refused, never deleted. writer names what writes it, for the marker
// ("image:build's OCI image layout"), for something other than Publish
// (BuildKit's oci exporter) to write an image layout.
func WriteLayout(dst, writer string, write func(dir string) error) error {
	d, err := atomicdir.Begin(dst, atomicdir.Options{Writer: writer, Fix: layoutFix})
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
