package buildcache_test

import (
	"context"
	"path/filepath"
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
// branch's, with a cook ref beside each; explicit refs need a tag, and the
// error names the knob.
func TestParseDerivesAndChecks(t *testing.T) {
	repo, err := name.NewRepository("r.example/team/app")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := buildcache.Parse("", repo, "dependabot/cargo/serde-1.0", "main", "-arm64")
	if err != nil || cs.Rest.To != "r.example/team/app:buildcache-dependabot-cargo-serde-1.0-arm64" ||
		strings.Join(cs.Rest.From, ",") != cs.Rest.To+",r.example/team/app:buildcache-main-arm64" || cs.Rest.Mode != "min" {
		t.Fatalf("derived rest %+v, %v", cs.Rest, err)
	}
	if cs.Cook.To != cs.Rest.To+"-cook" || strings.Join(cs.Cook.From, ",") != cs.Rest.To+"-cook,r.example/team/app:buildcache-main-arm64-cook" || cs.Cook.Mode != "max" {
		t.Fatalf("derived cook %+v", cs.Cook)
	}
	if got := strings.Join(cs.Imports(), ","); got != strings.Join(append(cs.Cook.From, cs.Rest.From...), ",") {
		t.Fatalf("imports %s: want the cook refs first", got)
	}
	if cs, err := buildcache.Parse("off", repo, "x", "main", ""); err != nil || cs.Exports() || len(cs.Imports()) != 0 {
		t.Fatalf("off: %+v, %v", cs, err)
	}
	_, err = buildcache.Parse("r.example/cache", repo, "x", "main", "")
	if !option.Usage(err) || !strings.HasPrefix(config.Explain(err), `MUSLRUST_CHEF_CACHE: "r.example/cache" is not a registry ref with a tag`) {
		t.Fatalf("a ref without a tag: %v", err)
	}

	// Explicit refs: the first exported, each with its cook ref.
	cs, err = buildcache.Parse("r.example/c:pr-7, r.example/c:main", repo, "x", "main", "")
	if err != nil || cs.Rest.To != "r.example/c:pr-7" || cs.Cook.To != "r.example/c:pr-7-cook" ||
		strings.Join(cs.Cook.From, ",") != "r.example/c:pr-7-cook,r.example/c:main-cook" {
		t.Fatalf("explicit: %+v, %v", cs, err)
	}
	// A tag with no room for -cook.
	long := "r.example/c:" + strings.Repeat("t", 125)
	_, err = buildcache.Parse(long, repo, "x", "main", "")
	if !option.Usage(err) || !strings.Contains(config.Explain(err), "needs a tag 5 characters shorter for its cook ref") {
		t.Fatalf("a tag without room for -cook: %v", err)
	}
	// A derived tag always has room for it.
	cs, err = buildcache.Parse("", repo, strings.Repeat("b", 200), "main", "-linux-arm64")
	if err != nil || len(cs.Cook.To)-len("r.example/team/app:") != 128 {
		t.Fatalf("long branch: cook %q, %v", cs.Cook.To, err)
	}
}

// local:DIR keeps the cook and the rest in two directories of DIR.
func TestResolveLocalDirs(t *testing.T) {
	dir := t.TempDir()
	cs, got, _, err := buildcache.Resolve(context.Background(), buildcache.Input{Cache: "local:" + dir})
	if err != nil || got != dir || cs.Cook.Dir != filepath.Join(dir, "cook") || cs.Rest.Dir != filepath.Join(dir, "rest") ||
		cs.Cook.Mode != "max" || cs.Rest.Mode != "min" || len(cs.Imports()) != 0 || !cs.Exports() {
		t.Fatalf("local: %+v dir %q, %v", cs, got, err)
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
