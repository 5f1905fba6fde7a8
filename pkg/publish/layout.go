package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Layout writes an OCI image layout directory holding the index. The layout
// is assembled beside the target and renamed into place, so DIR is either the
// old layout or the new one, never half of each.
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
	if err := replaceableDir(l.dir); err != nil {
		return Result{}, err
	}
	t, err := atomicPath(l.dir)
	if err != nil {
		return Result{}, err
	}
	defer t.Remove()
	tmp := t.Path
	p, err := layout.Write(tmp, empty.Index)
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
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("writing OCI layout %s: %w", l.dir, err)
	}
	if err := swapDir(tmp, l.dir); err != nil {
		return Result{}, err
	}
	d, err := idx.Digest()
	if err != nil {
		return Result{}, err
	}
	return Result{Reference: l.dir + "@" + d.String(), Digest: d}, nil
}

// Close implements Publisher.
func (l *Layout) Close() error { return nil }

// replaceableDir refuses to replace a directory that holds something other
// than an OCI layout, because the swap would delete the user's files.
func replaceableDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output %s: %v; choose a writable path", dir, unwrapPathErr(err))
	}
	if !st.IsDir() {
		return fmt.Errorf("output %s exists and is a file; oci:DIR needs a new directory or an existing OCI layout", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("output %s: %v", dir, unwrapPathErr(err))
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return fmt.Errorf("output %s is a non-empty directory that is not an OCI layout; choose a new directory so nothing of yours is overwritten", dir)
	}
	return nil
}

// swapDir moves tmp to dst, replacing an existing dst in two renames.
func swapDir(tmp, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		old := tmp + ".old"
		if err := os.Rename(dst, old); err != nil {
			return fmt.Errorf("replacing %s: %v; is it writable?", dst, unwrapPathErr(err))
		}
		if err := os.Rename(tmp, dst); err != nil {
			os.Rename(old, dst)
			return fmt.Errorf("replacing %s: %v", dst, unwrapPathErr(err))
		}
		return os.RemoveAll(old)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("writing %s: %v; choose a writable path", dst, unwrapPathErr(err))
	}
	return nil
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
