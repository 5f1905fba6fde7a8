package buildcache_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// The branch comes from the GitHub refs the caller passes: a pull
// request's head branch, else a pushed branch; a tag build is the main
// branch's.
func TestBranchFromGitHubRefs(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ head, ref, want string }{
		{"feature/x", "refs/pull/7/merge", "feature/x"},
		{"", "refs/heads/fix-1", "fix-1"},
		{"", "refs/tags/muslrust-chef-v1.0.0", "trunk"},
	} {
		if got := buildcache.Branch(ctx, "trunk", c.head, c.ref); got != c.want {
			t.Errorf("Branch(head %q, ref %q) = %q, want %q", c.head, c.ref, got, c.want)
		}
	}
}

// A derived cache ref is a valid tag per branch, importing the main
// branch's; explicit refs need a tag, and the error names the knob.
func TestParseDerivesAndChecks(t *testing.T) {
	repo, err := name.NewRepository("r.example/team/app")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := buildcache.Parse("", repo, "dependabot/cargo/serde-1.0", "main", "-arm64")
	if err != nil || cs.To != "r.example/team/app:buildcache-dependabot-cargo-serde-1.0-arm64" ||
		strings.Join(cs.From, ",") != cs.To+",r.example/team/app:buildcache-main-arm64" {
		t.Fatalf("derived %+v, %v", cs, err)
	}
	if cs, err := buildcache.Parse("off", repo, "x", "main", ""); err != nil || cs.To != "" || len(cs.From) != 0 {
		t.Fatalf("off: %+v, %v", cs, err)
	}
	_, err = buildcache.Parse("r.example/cache", repo, "x", "main", "")
	if !option.Usage(err) || !strings.HasPrefix(config.Explain(err), `MUSLRUST_CHEF_CACHE: "r.example/cache" is not a registry ref with a tag`) {
		t.Fatalf("a ref without a tag: %v", err)
	}
}

// Resolve's reason for no cache names the options as the caller spells
// them.
func TestResolveWhyNamesOptions(t *testing.T) {
	_, _, why, err := buildcache.Resolve(context.Background(), buildcache.Input{Output: "registry", Registry: true, MainBranch: "main", Names: config.KnobName})
	if err != nil || why != "no MUSLRUST_CHEF_IMAGE or MUSLRUST_CHEF_CACHE" {
		t.Fatalf("why %q, %v", why, err)
	}
	_, _, why, _ = buildcache.Resolve(context.Background(), buildcache.Input{Output: "registry", Registry: true, MainBranch: "main"})
	if why != "no the image option or the cache option" {
		t.Fatalf("library wording: %q", why)
	}
}
