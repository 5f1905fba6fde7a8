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

// Refs is one registry cache: refs imported and the one exported.
type Refs struct {
	// From are imported, in order (a missing ref is not an error).
	From []string
	// To is exported; empty means no export.
	To string
	// Mode is the export's mode: "max" (every step's layers) or "min"
	// (the final stage's only).
	Mode string
	// Dir is a local cache directory instead of refs (local:DIR): imported
	// when it holds a cache, exported into it.
	Dir string
}

// Spec is the resolved cache of an app build, in two parts, because
// BuildKit exports a cache per solve: Cook holds the dependency layers
// (mode=max: the cook stage and the builder under it), exported only by a
// solve of the cook stage when cook ran; Rest is the build's own export
// (mode=min: the exported files only), cheap on every run.
type Spec struct {
	Cook, Rest Refs
}

// Exports says whether the spec exports anything.
func (s Spec) Exports() bool {
	return s.Cook.To != "" || s.Cook.Dir != "" || s.Rest.To != "" || s.Rest.Dir != ""
}

// Imports are every ref imported: the cook refs first (the layers that
// matter most), then the rest.
func (s Spec) Imports() []string {
	return append(append([]string(nil), s.Cook.From...), s.Rest.From...)
}

// CookSuffix ends every cook ref's tag: <ref>-cook next to <ref>.
const CookSuffix = "-cook"

// Modes of the cache exports.
const (
	ModeMax = "max"
	ModeMin = "min"
)

// Parse reads an app build's cache option (ParseRefs) and gives each ref
// a cook ref next to it: buildcache-<branch><suffix>-cook, or <ref>-cook
// for refs given. The plain refs keep their names, so the caches older
// kits exported there (mode=max, cook included) still import.
func Parse(spec string, repo name.Repository, branch, mainBranch, suffix string, opts ...name.Option) (Spec, error) {
	rest, err := ParseRefs(spec, repo, branch, mainBranch, suffix, opts...)
	if err != nil || (rest.To == "" && len(rest.From) == 0) {
		return Spec{}, err
	}
	rest.Mode = ModeMin
	cs := Spec{Rest: rest, Cook: Refs{Mode: ModeMax}}
	for _, ref := range rest.From {
		c := ref + CookSuffix
		if _, err := name.NewTag(c, opts...); err != nil {
			return Spec{}, option.Usagef("%s: %q needs a tag %d characters shorter for its cook ref %q (a tag is at most 128 characters): use a shorter tag", option.Env(option.Cache), ref, len(CookSuffix), c)
		}
		cs.Cook.From = append(cs.Cook.From, c)
	}
	if rest.To != "" {
		cs.Cook.To = rest.To + CookSuffix
	}
	return cs, nil
}

// ParseRefs reads the cache option: "off" (no cache), or comma-separated
// refs whose first is exported and imported and the rest imported. An empty
// spec derives <repo>:buildcache-<branch><suffix> (export, import) and
// <repo>:buildcache-<main><suffix> (import), so a branch starts from main's
// cache and never overwrites it. suffix separates per-platform caches of
// split builds, which would otherwise overwrite each other. The mode is
// max: one cache of everything.
func ParseRefs(spec string, repo name.Repository, branch, mainBranch, suffix string, opts ...name.Option) (Refs, error) {
	switch strings.ToLower(strings.TrimSpace(spec)) {
	case "off", "none", "false", "no":
		return Refs{}, nil
	case "":
		if repo.RepositoryStr() == "" {
			return Refs{}, nil
		}
		to := repo.Name() + ":" + cacheTag(branch, suffix)
		main := repo.Name() + ":" + cacheTag(mainBranch, suffix)
		cs := Refs{From: []string{to}, To: to, Mode: ModeMax}
		if main != to {
			cs.From = append(cs.From, main)
		}
		return cs, nil
	}
	cs := Refs{Mode: ModeMax}
	for _, ref := range strings.Split(spec, ",") {
		ref = strings.TrimSpace(ref)
		if ref == "" {
			continue
		}
		if _, err := name.NewTag(ref, opts...); err != nil || !hasTag(ref) {
			return Refs{}, option.Usagef("%s: %q is not a registry ref with a tag: use registry/repo:tag (the first is exported), comma-separated, or off", option.Env(option.Cache), ref)
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
// buildcache-<branch><suffix>, leaving room for CookSuffix; feature/x
// becomes feature-x.
func cacheTag(branch, suffix string) string {
	b := strings.Trim(notTagChar.ReplaceAllString(branch, "-"), "-.")
	if b == "" {
		b = "main"
	}
	max := 128 - len("buildcache-") - len(suffix) - len(CookSuffix)
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
