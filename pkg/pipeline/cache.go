package pipeline

import (
	"context"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// cacheSpec is the build's cache (buildcache.Resolve): derived refs only
// for a registry output, and a per-platform suffix for split builds.
func cacheSpec(ctx context.Context, c *Config, names func(option.Ref) string) (cs buildcache.Spec, localDir, why string, err error) {
	out, perr := publish.ParseOutput(c.Output)
	suffix := ""
	if c.Strategy == StrategySplit {
		suffix = "-" + c.Platforms[0].OS + "-" + c.Platforms[0].Arch
	}
	return buildcache.Resolve(ctx, buildcache.Input{Cache: c.Cache, Output: c.Output, Registry: perr == nil && out.Kind == "registry",
		Image: c.Image, MainBranch: c.MainBranch, Suffix: suffix,
		GitHubHeadRef: c.GitHubHeadRef, GitHubRef: c.GitHubRef, Names: names})
}
