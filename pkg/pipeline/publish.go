package pipeline

import (
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/muslrust-chef/muslrust-chef/pkg/ghoutput"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// publishIn is where the slim image goes.
type publishIn struct {
	Index  v1.ImageIndex
	Tags   []name.Tag
	Output publish.Output
	// ByDigest pushes the one platform's image untagged for image:merge
	// (the split strategy) instead of the index.
	ByDigest bool
	Platform platform.Platform
	// Host is the platform tar and docker outputs hold.
	Host         platform.Platform
	Registry     []publish.RegistryOption
	Stdout, Log  io.Writer
	GitHubOutput string
	// Referrers are the records to attach to the platform manifests
	// (registry and oci:DIR outputs; tar and docker hold none).
	Referrers map[v1.Hash][]publish.Artifact
}

// publishImage writes the image to its output, prints the reference on
// stdout and appends the step outputs (image, digest; platform for a push
// by digest) to the GitHub output file.
func publishImage(ctx context.Context, in publishIn) (publish.Result, error) {
	var res publish.Result
	outputs := [][2]string{}
	registry := in.Registry
	if len(in.Referrers) > 0 {
		registry = append(append([]publish.RegistryOption(nil), registry...), publish.WithReferrers(in.Referrers))
	}
	if in.ByDigest {
		// The same retries and deadlines as every registry push.
		var err error
		if res, err = publish.PushByDigest(ctx, in.Tags[0].Context(), in.Index, in.Platform, registry...); err != nil {
			return publish.Result{}, err
		}
		fmt.Fprintf(in.Log, "split: pushed %s by digest; merge the platforms' digests with image:merge\n", in.Platform)
		outputs = append(outputs, [2]string{"image", res.Reference}, [2]string{"digest", res.Digest.String()}, [2]string{"platform", in.Platform.String()})
	} else {
		pub, err := publish.New(in.Output, in.Tags, in.Host, registry...)
		if err != nil {
			return publish.Result{}, err
		}
		defer pub.Close()
		if res, err = pub.Publish(ctx, in.Index); err != nil {
			return publish.Result{}, err
		}
		outputs = append(outputs, [2]string{"image", res.Reference}, [2]string{"digest", res.Digest.String()})
	}
	fmt.Fprintln(in.Stdout, res.Reference)
	return res, ghoutput.Write(in.GitHubOutput, outputs...)
}
