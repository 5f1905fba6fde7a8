// Package buildcache resolves the BuildKit cache of a build: registry refs
// (per branch, importing the main branch's), off, or a local directory.
package buildcache

import (
	"context"
	"os/exec"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// Spec is the resolved registry cache of a build.
type Spec struct {
	// From are imported, in order (a missing ref is not an error).
	From []string
	// To is exported with mode=max; empty means no export.
	To string
}

// Parse reads the cache option: "off" (no cache), or comma-separated
// refs whose first is exported and imported and the rest imported. An empty
// spec derives <repo>:buildcache-<branch><suffix> (export, import) and
// <repo>:buildcache-<main><suffix> (import), so a branch starts from main's
// cache and never overwrites it. suffix separates per-platform caches of
// split builds, which would otherwise overwrite each other.
func Parse(spec string, repo name.Repository, branch, mainBranch, suffix string, opts ...name.Option) (Spec, error) {
	switch strings.ToLower(strings.TrimSpace(spec)) {
	case "off", "none", "false", "no":
		return Spec{}, nil
	case "":
		if repo.RepositoryStr() == "" {
			return Spec{}, nil
		}
		to := repo.Name() + ":" + cacheTag(branch, suffix)
		main := repo.Name() + ":" + cacheTag(mainBranch, suffix)
		cs := Spec{From: []string{to}, To: to}
		if main != to {
			cs.From = append(cs.From, main)
		}
		return cs, nil
	}
	var cs Spec
	for _, ref := range strings.Split(spec, ",") {
		ref = strings.TrimSpace(ref)
		if ref == "" {
			continue
		}
		if _, err := name.NewTag(ref, opts...); err != nil || !hasTag(ref) {
			return Spec{}, option.Usagef("%s: %q is not a registry ref with a tag: use registry/repo:tag (the first is exported), comma-separated, or off", option.Env(option.Cache), ref)
		}
		if cs.To == "" {
			cs.To = ref
		}
		cs.From = append(cs.From, ref)
	}
	return cs, nil
}

func hasTag(ref string) bool {
	last := ref[strings.LastIndex(ref, "/")+1:]
	return strings.Contains(last, ":")
}

var notTagChar = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// cacheTag makes a valid tag (128 characters at most, [A-Za-z0-9_.-]) of
// buildcache-<branch><suffix>; feature/x becomes feature-x.
func cacheTag(branch, suffix string) string {
	b := strings.Trim(notTagChar.ReplaceAllString(branch, "-"), "-.")
	if b == "" {
		b = "main"
	}
	max := 128 - len("buildcache-") - len(suffix)
	if len(b) > max {
		b = b[:max]
	}
	return "buildcache-" + b + suffix
}

// Branch names the branch being built, for the cache ref: the pull
// request's source branch (headRef: GitHub's GITHUB_HEAD_REF), the pushed
// branch (ref: GITHUB_REF, refs/heads/<branch>), else git's current
// branch. A tag build or a detached HEAD counts as mainBranch (release tags
// are cut from it).
func Branch(ctx context.Context, mainBranch, headRef, ref string) string {
	if headRef != "" {
		return headRef
	}
	if ref != "" {
		if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
			return b
		}
		return mainBranch
	}
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--abbrev-ref", "HEAD").Output()
	if b := strings.TrimSpace(string(out)); err == nil && b != "" && b != "HEAD" {
		return b
	}
	return mainBranch
}
