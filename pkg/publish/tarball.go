package publish

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Tarball writes a docker-archive (docker load) of one platform's image.
type Tarball struct {
	path string
	tags []name.Tag
	host platform.Platform
}

// NewTarball returns a publisher writing path; tags become the archive's
// RepoTags. host decides the platform when the index holds several.
func NewTarball(path string, tags []name.Tag, host platform.Platform) *Tarball {
	return &Tarball{path: path, tags: tags, host: host}
}

// Publish implements Publisher.
func (t *Tarball) Publish(ctx context.Context, idx v1.ImageIndex) (Result, error) {
	img, _, err := SinglePlatform(idx, t.host)
	if err != nil {
		return Result{}, err
	}
	if st, err := os.Stat(t.path); err == nil && st.IsDir() {
		return Result{}, fmt.Errorf("output %s is a directory; tar:FILE needs a file path", t.path)
	}
	out, err := beginArchive(t.path)
	if err != nil {
		return Result{}, err
	}
	defer out.Abort()
	f, err := os.Create(out.Path())
	if err != nil {
		return Result{}, fmt.Errorf("writing %s: %v", t.path, unwrapPathErr(err))
	}
	if err := writeArchive(ctx, f, imageWithContext(ctx, img), t.tags); err != nil {
		f.Close()
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("writing %s: %w", t.path, ctx.Err())
		}
		return Result{}, writeError("the image archive", filepath.Dir(t.path), err)
	}
	if err := f.Close(); err != nil {
		return Result{}, writeError("the image archive", filepath.Dir(t.path), err)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("writing %s: %w", t.path, err)
	}
	if err := out.Commit(); err != nil {
		return Result{}, fmt.Errorf("output: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return Result{}, err
	}
	ref := t.path
	if len(t.tags) > 0 {
		ref = displayName(t.tags[0])
	}
	return Result{Reference: ref, Digest: d}, nil
}

// Close implements Publisher.
func (t *Tarball) Close() error { return nil }

func writeArchive(ctx context.Context, w io.Writer, img v1.Image, tags []name.Tag) error {
	refs := map[name.Reference]v1.Image{}
	for _, tag := range tags {
		refs[tag] = img
	}
	if len(refs) == 0 {
		return option.Usagef("no image name for the archive: set %s", option.Env(option.Image))
	}
	return tarball.MultiRefWrite(refs, &ctxWriter{ctx: ctx, w: w})
}

// ctxWriter stops a long archive write when the target's context ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
