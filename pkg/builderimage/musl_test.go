package builderimage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/muslrust-chef/muslrust-chef/internal/standin"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/builderimage"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
)

// The production Dockerfile, with only its inputs swapped: the musl
// stand-in as MUSLRUST_IMAGE and the npm registry's zig tarball (served
// locally, with its sha256) as the zig download. Both platforms build; the
// cross declaration points every triple's linker, C/C++ compiler and
// archiver at the zig wrapper exactly as the stand-in's does.
func TestBuilderDockerfileOnMuslStandin(t *testing.T) {
	registry, bk := requireInfra(t)
	base := standin.MuslImage(t)
	cleanEnv(t)
	zigURL, sha := testinfra.ZigServer(t)

	repo := registry + "/muslrust-chef-test/builder-musl-" + uniq()
	req, err := planPush(context.Background(), config.ImageSettings{
		Image: repo, Tags: "musl", Cache: "off", MuslrustImage: base, ChefVersion: "none",
	})
	if err != nil {
		t.Fatal(err)
	}
	req.Zig = builderimage.Zig{Version: testinfra.ZigVersion,
		SHA256: map[string]string{"amd64": sha, "arm64": sha},
		URL:    map[string]string{"amd64": zigURL, "arm64": zigURL}}
	res, err := builderimage.Push(context.Background(), connect(t, bk), req)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(res.Ref, name.Insecure)
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	seen := map[string]bool{}
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Platform.OS != "linux" {
			continue
		}
		seen[m.Platform.Architecture] = true
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range standin.MuslLabels() {
			if k != builder.LabelLibc && !strings.HasPrefix(k, builder.LabelCross) {
				continue
			}
			if got := cf.Config.Labels[k]; got != v {
				t.Errorf("%s: label %s=%q, the stand-in declares %q", m.Platform.Architecture, k, got, v)
			}
		}
	}
	if !seen["amd64"] || !seen["arm64"] {
		t.Errorf("platforms %v, want amd64 and arm64", seen)
	}
}
