package pipeline

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/muslrust-chef/muslrust-chef/pkg/ghoutput"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/slim"
)

// pushByDigest publishes the one platform's slim image without a tag, for
// image:merge, and writes digest and image to $GITHUB_OUTPUT.
func pushByDigest(ctx context.Context, c *Config, rt Runtime) (publish.Result, error) {
	p := c.Platforms[0]
	ref, err := name.ParseReference(c.Image)
	if err != nil {
		return publish.Result{}, fmt.Errorf("image %q is not a valid reference: %v; set MUSLRUST_CHEF_IMAGE to repo[:tag]", c.Image, err)
	}
	labels := rt.Labels
	if t, ok := ref.(name.Tag); ok && labels.Version == "" && t.TagStr() != "latest" {
		labels.Version = t.TagStr() // as slim.Ship does, so split and emulate images are identical
	}
	opts := append([]slim.Option{slim.WithLabels(labels), slim.WithCreated(rt.Created)}, rt.SlimOptions...)
	if c.Base != "" {
		opts = append(opts, slim.WithBase(c.Base))
	}
	idx, err := slim.Build(ctx, c.Bin, []slim.Binary{{Platform: p, Path: filepath.Join(c.Dist, p.DistDir(), c.Bin)}}, opts...)
	if err != nil {
		return publish.Result{}, err
	}
	img, _, err := publish.SinglePlatform(idx, p)
	if err != nil {
		return publish.Result{}, err
	}
	// The same publisher as every registry push: retries and deadlines.
	pub, err := publish.NewRegistry([]name.Tag{ref.Context().Tag("latest")}, rt.RegistryOptions...)
	if err != nil {
		return publish.Result{}, err
	}
	pushed, err := pub.PushImage(ctx, img)
	if err != nil {
		return publish.Result{}, err
	}
	byDigest, d := pushed.Reference, pushed.Digest
	fmt.Fprintf(rt.Log, "split: pushed %s by digest; merge the platforms' digests with image:merge\n", p)
	fmt.Fprintln(rt.Stdout, byDigest)
	return pushed, ghoutput.Write(rt.GitHubOutput, [2]string{"image", byDigest}, [2]string{"digest", d.String()}, [2]string{"platform", p.String()})
}
