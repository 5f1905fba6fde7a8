package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
)

// The layout and tarball writers of go-containerregistry take no context:
// these wrappers make every blob read fail once ctx ends, so SIGINT or
// SIGTERM stops a multi-gigabyte write within one read instead of after it.

// indexMethods is v1.ImageIndex under another name, so that ctxIndex can
// embed it and still define its own ImageIndex method.
type indexMethods interface {
	v1.ImageIndex
}

type ctxIndex struct {
	indexMethods
	ctx context.Context
}

func withContext(ctx context.Context, idx v1.ImageIndex) v1.ImageIndex {
	return &ctxIndex{indexMethods: idx, ctx: ctx}
}

func (i *ctxIndex) Image(h v1.Hash) (v1.Image, error) {
	if err := i.ctx.Err(); err != nil {
		return nil, err
	}
	img, err := i.indexMethods.Image(h)
	if err != nil {
		return nil, err
	}
	return imageWithContext(i.ctx, img), nil
}

func (i *ctxIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	if err := i.ctx.Err(); err != nil {
		return nil, err
	}
	idx, err := i.indexMethods.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return withContext(i.ctx, idx), nil
}

type ctxImage struct {
	v1.Image
	ctx context.Context
}

func imageWithContext(ctx context.Context, img v1.Image) v1.Image {
	return &ctxImage{Image: img, ctx: ctx}
}

func (c *ctxImage) Layers() ([]v1.Layer, error) {
	ls, err := c.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = &ctxLayer{Layer: l, ctx: c.ctx}
	}
	return out, nil
}

func (c *ctxImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := c.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return &ctxLayer{Layer: l, ctx: c.ctx}, nil
}

type ctxLayer struct {
	v1.Layer
	ctx context.Context
}

func (l *ctxLayer) Compressed() (io.ReadCloser, error) {
	if err := l.ctx.Err(); err != nil {
		return nil, err
	}
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	return &ctxReader{ReadCloser: rc, ctx: l.ctx}, nil
}

func (l *ctxLayer) Uncompressed() (io.ReadCloser, error) {
	if err := l.ctx.Err(); err != nil {
		return nil, err
	}
	rc, err := l.Layer.Uncompressed()
	if err != nil {
		return nil, err
	}
	return &ctxReader{ReadCloser: rc, ctx: l.ctx}, nil
}

type ctxReader struct {
	io.ReadCloser
	ctx context.Context
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.ReadCloser.Read(p)
}

// writeError says what to do about a failed local write; a full disk is
// the common case.
func writeError(what, where string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("no space left writing %s in %s: free space there or choose another output path; the previous output is untouched", what, where)
	}
	return fmt.Errorf("writing %s in %s: %s", what, where, oneline.Err(err))
}
