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
}

// publishImage writes the image to its output, prints the reference on
// stdout and appends the step outputs (image, digest; platform for a push
// by digest) to the GitHub output file.
func publishImage(ctx context.Context, in publishIn) (publish.Result, error) {
	var res publish.Result
	outputs := [][2]string{}
	if in.ByDigest {
		img, _, err := publish.SinglePlatform(in.Index, in.Platform)
		if err != nil {
			return publish.Result{}, err
		}
		// The same publisher as every registry push: retries and deadlines.
		pub, err := publish.NewRegistry([]name.Tag{in.Tags[0].Context().Tag("latest")}, in.Registry...)
		if err != nil {
			return publish.Result{}, err
		}
		if res, err = pub.PushImage(ctx, img); err != nil {
			return publish.Result{}, err
		}
		fmt.Fprintf(in.Log, "split: pushed %s by digest; merge the platforms' digests with image:merge\n", in.Platform)
		outputs = append(outputs, [2]string{"image", res.Reference}, [2]string{"digest", res.Digest.String()}, [2]string{"platform", in.Platform.String()})
	} else {
		pub, err := newPublisher(in)
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

func newPublisher(in publishIn) (publish.Publisher, error) {
	switch in.Output.Kind {
	case "registry":
		return publish.NewRegistry(in.Tags, in.Registry...)
	case "oci":
		return publish.NewLayout(in.Output.Path, in.Tags), nil
	case "tar":
		return publish.NewTarball(in.Output.Path, in.Tags, in.Host), nil
	case "docker":
		return publish.NewDocker(in.Tags, in.Host)
	}
	return nil, fmt.Errorf("unknown output %q: use registry, docker, oci:DIR or tar:FILE", in.Output)
}
