package publish

import (
	"context"
	"fmt"
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
	dir  string
	tags []name.Tag
}

// NewLayout returns a publisher for the OCI layout at dir; tags (optional)
// are recorded as org.opencontainers.image.ref.name annotations.
func NewLayout(dir string, tags []name.Tag) *Layout {
	return &Layout{dir: dir, tags: tags}
}

// Publish implements Publisher.
func (l *Layout) Publish(ctx context.Context, idx v1.ImageIndex) (Result, error) {
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
	return Result{Reference: l.dir + "@" + dg.String(), Digest: dg}, nil
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
