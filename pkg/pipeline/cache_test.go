package pipeline

import (
	"context"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/config"
)

// A registry cache ref is derived only when the image goes to a registry:
// with an OCI layout, a tarball or Docker, "app" would otherwise become a
// Docker Hub ref that BuildKit tries to reach.
func TestCacheSpecOnlyFromRegistryImage(t *testing.T) {
	clearEnv(t)
	t.Setenv("GITHUB_HEAD_REF", "feature/x")
	cases := []struct {
		output, image, cache string
		from, to             string
		why                  string
	}{
		{"oci:out", "app", "", "", "", "the output is oci:out, not a registry"},
		{"tar:app.tar", "app:1.0", "", "", "", "the output is tar:app.tar, not a registry"},
		{"docker", "registry.example/team/app", "", "", "", "the output is docker, not a registry"},
		{"registry", "", "", "", "", "no MUSLRUST_CHEF_IMAGE or MUSLRUST_CHEF_CACHE"},
		{"registry", "registry.example/team/app:1.0", "", "registry.example/team/app:buildcache-feature-x,registry.example/team/app:buildcache-main", "registry.example/team/app:buildcache-feature-x", ""},
		{"oci:out", "app", "registry.example/c:main", "registry.example/c:main", "registry.example/c:main", ""},
		{"registry", "registry.example/team/app", "off", "", "", "MUSLRUST_CHEF_CACHE=off"},
	}
	for _, c := range cases {
		cfg := &Config{Spec: buildspec.Spec{Output: c.output, Image: c.image, Cache: c.cache, MainBranch: "main", Strategy: StrategyEmulate, GitHubHeadRef: "feature/x"}}
		cs, dir, why, err := cacheSpec(context.Background(), cfg, config.KnobName)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if strings.Join(cs.Rest.From, ",") != c.from || cs.Rest.To != c.to || dir != "" || (c.why != "" && !strings.Contains(why, c.why)) {
			t.Errorf("output %s image %q cache %q: from %v to %q dir %q why %q; want from %q to %q why %q",
				c.output, c.image, c.cache, cs.Rest.From, cs.Rest.To, dir, why, c.from, c.to, c.why)
		}
		if c.to != "" && cs.Cook.To != c.to+"-cook" {
			t.Errorf("output %s image %q cache %q: cook export %q, want %q", c.output, c.image, c.cache, cs.Cook.To, c.to+"-cook")
		}
	}

	dir := t.TempDir()
	cs, got, _, err := cacheSpec(context.Background(), &Config{Spec: buildspec.Spec{Output: "oci:out", Image: "app", Cache: "local:" + dir}}, nil)
	if err != nil || got != dir || len(cs.Imports()) != 0 || cs.Rest.To != "" || cs.Cook.To != "" || cs.Cook.Dir != filepath.Join(dir, "cook") {
		t.Fatalf("local cache: dir %q spec %+v err %v, want dir %s and no registry", got, cs, err, dir)
	}
	rel, _, _ := strings.Cut(filepath.Base(dir), "/")
	if _, got, _, _ := cacheSpec(context.Background(), &Config{Spec: buildspec.Spec{Cache: "local:" + rel}}, nil); !filepath.IsAbs(got) {
		t.Fatalf("local cache dir %q is not absolute", got)
	}
	if _, _, _, err := cacheSpec(context.Background(), &Config{Spec: buildspec.Spec{Cache: "local:"}}, nil); err == nil || !strings.Contains(err.Error(), "needs a directory") {
		t.Fatalf("local: without a directory: %v", err)
	}
}
