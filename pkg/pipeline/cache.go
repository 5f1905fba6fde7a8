package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
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

// cacheAttrs are the attributes of every cache export: zstd compresses
// the cook layers (target/ of every dependency, hundreds of MB) several
// times faster than gzip at a similar size; BuildKit 0.10 and later import it.
var cacheAttrs = map[string]string{"compression": "zstd", "compression-level": "3"}

// useCache points req at cs: every cache imported (the cook's first), and
// the export of the part the solve owns. rust:cook exports the cook part
// (mode=max); a build exports the rest (mode=min, the exported files only)
// and leaves the cook part to a solve of its own (cookExport), which runs
// only when the cook did, so a cook reused from the cache costs no export.
func useCache(req *buildkit.Request, what string, cs buildcache.Spec) {
	req.CacheFrom = cs.Imports()
	exp := cs.Rest
	if what == "cook" {
		exp = cs.Cook
	} else if cs.Cook.Dir != "" {
		req.CacheDirsFrom = []string{cs.Cook.Dir}
	}
	req.CacheTo, req.CacheDir, req.CacheMode = exp.To, exp.Dir, exp.Mode
	if exp.To != "" || exp.Dir != "" {
		req.CacheAttrs = cacheAttrs
	}
}

// logCache says in one line what the solve imports and exports.
func logCache(w io.Writer, what string, cs buildcache.Spec, localDir, why string) {
	switch {
	case localDir != "" && what == "cook":
		fmt.Fprintf(w, "%s: local cache: import and export %s (mode=max)\n", what, cs.Cook.Dir)
	case localDir != "":
		fmt.Fprintf(w, "%s: local cache: import and export %s: cook %s (mode=max, exported only when cook runs), rest %s (mode=min)\n", what, localDir, cs.Cook.Dir, cs.Rest.Dir)
	case cs.Cook.To != "" && what == "cook":
		fmt.Fprintf(w, "%s: registry cache: import %s, export %s (mode=max)\n", what, strings.Join(cs.Imports(), ", "), cs.Cook.To)
	case cs.Cook.To != "":
		fmt.Fprintf(w, "%s: registry cache: cook import %s, export %s (mode=max, only when cook runs); rest import %s, export %s (mode=min)\n",
			what, strings.Join(cs.Cook.From, ", "), cs.Cook.To, strings.Join(cs.Rest.From, ", "), cs.Rest.To)
	case len(cs.Cook.From) > 0:
		fmt.Fprintf(w, "%s: registry cache: import %s\n", what, strings.Join(cs.Imports(), ", "))
	default:
		fmt.Fprintf(w, "%s: no remote cache (%s): nothing is imported or exported, only this BuildKit's own cache is used\n", what, why)
	}
}

// cookRequest is the solve that exports the cook part of the cache: the
// build's request (same context, same arguments: BuildKit finds every step
// in its own cache, cargo does not run again) cut at the cook stage, with
// no output but the cook cache, and no display of its own.
func cookRequest(req buildkit.Request, cs buildcache.Spec, strategy string) buildkit.Request {
	c := req
	c.Target = stageTarget("cook", strategy)
	c.Local, c.Image, c.Archive, c.OCILayout = nil, nil, nil, nil
	c.CacheTo, c.CacheDir, c.CacheDirsFrom, c.CacheMode = cs.Cook.To, cs.Cook.Dir, nil, cs.Cook.Mode
	c.CacheAttrs = cacheAttrs
	c.OnStatus = nil
	c.NoDisplay = true
	return c
}

// cookCached says whether a cook cache is already where the build would
// export it: one of the cook refs exists (a HEAD each), or the cook
// directory holds a cache. A registry that cannot be asked counts as no:
// exporting again costs time, a missing cook cache a cold cook on the
// next fresh BuildKit.
func cookCached(ctx context.Context, cs buildcache.Spec) (bool, string) {
	if cs.Cook.Dir != "" {
		_, err := os.Stat(filepath.Join(cs.Cook.Dir, "index.json"))
		return err == nil, cs.Cook.Dir
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, ref := range cs.Cook.From {
		r, err := name.ParseReference(ref)
		if err != nil {
			continue
		}
		if _, err := remote.Head(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err == nil {
			return true, ref
		}
	}
	return false, ""
}
