package imagetags_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/imagetags"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// The workflow's inputs come in as values; the messages about them name
// the knobs once pkg/config explains them, and are usage errors.
func TestInputsAndTheirMessages(t *testing.T) {
	ctx := context.Background()
	repo, _ := name.NewRepository("ghcr.io/org/muslrust-chef")
	noGit := func(context.Context) string { return "" }

	res, err := imagetags.Resolve(ctx, imagetags.Input{Repo: repo, GitTag: noGit,
		Metadata: `{"tags":["ghcr.io/org/muslrust-chef:1.2.3","1.2"],"labels":{"org.opencontainers.image.version":"1.2.3"}}`})
	if err != nil || len(res.Refs) != 2 || res.Refs[1].Name() != "ghcr.io/org/muslrust-chef:1.2" || res.Version != "1.2.3" {
		t.Fatalf("metadata: %v %v", res, err)
	}
	if from, ok := res.From.(option.Ref); !ok || from.Opt != option.DockerMetadata {
		t.Errorf("From = %v, want the Docker metadata option", res.From)
	}
	res, err = imagetags.Resolve(ctx, imagetags.Input{Repo: repo, GitTag: noGit, GitHubRef: "refs/tags/muslrust-chef-v2.0.1"})
	if err != nil || len(res.Refs) != 3 || res.Version != "2.0.1" {
		t.Fatalf("GitHub ref: %v %v", res, err)
	}

	for _, c := range []struct {
		name string
		in   imagetags.Input
		want string
	}{
		{"bad metadata", imagetags.Input{Metadata: "{tags"},
			"DOCKER_METADATA_OUTPUT_JSON is not docker/metadata-action's JSON ("},
		{"malformed release tag", imagetags.Input{GitHubRef: "refs/tags/muslrust-chef-v1.x"},
			`git tag "muslrust-chef-v1.x" (from GITHUB_REF) is not muslrust-chef-vX.Y.Z: tag releases like muslrust-chef-v1.2.3 (or muslrust-chef-v1.2.3-rc.1), or set MUSLRUST_CHEF_TAGS to publish explicit tags`},
		{"bad explicit tag", imagetags.Input{Explicit: []string{"bad tag!"}},
			`MUSLRUST_CHEF_TAGS: "bad tag!" is not a valid tag (`},
		{"metadata tag by digest", imagetags.Input{Metadata: `{"tags":["r.example/x@sha256:` + strings.Repeat("a", 64) + `"]}`},
			"DOCKER_METADATA_OUTPUT_JSON: \"r.example/x@sha256:"},
	} {
		c.in.Repo, c.in.GitTag = repo, noGit
		_, err := imagetags.Resolve(ctx, c.in)
		if got := config.Explain(err); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: %s\nwant it to start with %s", c.name, got, c.want)
		}
		if !option.Usage(err) {
			t.Errorf("%s: %v is not a usage error", c.name, err)
		}
	}
}
