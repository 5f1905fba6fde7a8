// Package imagetags decides which tags a pushed image gets, the way the
// original CI did and the way GitHub workflows expect: explicit tags, else
// docker/metadata-action's output, else a git tag muslrust-chef-vX.Y.Z on
// the commit being built (X.Y.Z, X.Y and X). It reads no environment: the
// caller passes what the workflow provides.
package imagetags

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// GitTagPrefix marks release tags of the builder image.
const GitTagPrefix = "muslrust-chef-v"

// Resolved is the outcome of Resolve.
type Resolved struct {
	// Refs are full tag references, in order, without duplicates.
	Refs []name.Tag
	// From says where the tags came from, for messages: a string, or an
	// option.Ref when an option gave them (option.Errorf renders it as
	// the knob).
	From any
	// Version is X.Y.Z[-pre] from a release git tag or metadata-action's
	// version label; empty otherwise.
	Version string
	// Labels are metadata-action's OCI labels (revision, source, ...).
	Labels map[string]string
}

// Input is what Resolve looks at. GitTag defaults to `git` in the current
// directory.
type Input struct {
	// Repo is the image repository; bare tag names are put in it.
	Repo name.Repository
	// Explicit are tags from the tags option: bare tags ("1.2") or full
	// references ("ghcr.io/org/img:1.2").
	Explicit []string
	// ExplicitFrom names where Explicit came from, for messages: a string
	// or an option.Ref; default option.Env(option.Tags).
	ExplicitFrom any
	// Metadata is docker/metadata-action's JSON output
	// (steps.<id>.outputs.json), empty when there is none.
	Metadata string
	// GitHubRef is the ref that triggered the GitHub workflow
	// (refs/tags/..., refs/heads/...), empty outside GitHub Actions.
	GitHubRef string
	// GitTag returns the release tag on HEAD, or "" (git describe when nil).
	GitTag func(ctx context.Context) string
	// NameOptions are passed to the reference parser (name.Insecure for
	// plain-HTTP registries).
	NameOptions []name.Option
}

// Resolve picks the tags: Explicit, else the metadata's tags, else the
// release git tag. No source at all gives no tags and no error; a
// malformed release git tag is an error.
func Resolve(ctx context.Context, in Input) (Resolved, error) {
	if len(in.Explicit) > 0 {
		from := in.ExplicitFrom
		if from == nil || from == "" {
			from = option.Env(option.Tags)
		}
		refs, err := parseTags(in.Repo, in.Explicit, from, in.NameOptions)
		res := Resolved{Refs: refs, From: from}
		// The version label still follows a release tag when there is one.
		if v, _, gerr := gitVersion(ctx, in); gerr == nil {
			res.Version = v
		}
		return res, err
	}
	if js := strings.TrimSpace(in.Metadata); js != "" {
		var md struct {
			Tags   []string          `json:"tags"`
			Labels map[string]string `json:"labels"`
		}
		if err := json.Unmarshal([]byte(js), &md); err != nil {
			return Resolved{}, option.Usagef("%s is not docker/metadata-action's JSON (%w): pass steps.<id>.outputs.json through, or unset it", option.Env(option.DockerMetadata), err)
		}
		if len(md.Tags) > 0 {
			from := option.Env(option.DockerMetadata)
			refs, err := parseTags(in.Repo, md.Tags, from, in.NameOptions)
			return Resolved{Refs: refs, From: from, Version: md.Labels["org.opencontainers.image.version"], Labels: md.Labels}, err
		}
	}
	version, tag, err := gitVersion(ctx, in)
	if err != nil || version == "" {
		return Resolved{}, err
	}
	var tags []string
	if pre := strings.Contains(version, "-"); pre {
		// A pre-release must not move the X.Y and X tags users follow.
		tags = []string{version}
	} else {
		parts := strings.SplitN(version, ".", 3)
		tags = []string{version, parts[0] + "." + parts[1], parts[0]}
	}
	from := "git tag " + tag
	refs, err := parseTags(in.Repo, tags, from, in.NameOptions)
	return Resolved{Refs: refs, From: from, Version: version}, err
}

var semver = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z][0-9A-Za-z.-]*)?$`)

// gitVersion finds the release tag: the GitHub ref in Actions
// (refs/tags/...), else `git describe --exact-match` on HEAD. It returns the
// version and the tag; a tag with the release prefix but no X.Y.Z after it
// is an error.
func gitVersion(ctx context.Context, in Input) (string, string, error) {
	var tag string
	var from any
	if ref := in.GitHubRef; ref != "" {
		// In Actions the ref is authoritative: a branch build has no
		// release tag even if HEAD happens to carry one.
		tag, from = strings.TrimPrefix(ref, "refs/tags/"), option.Env(option.GitHubRef)
		if tag == ref {
			return "", "", nil
		}
	} else {
		gt := in.GitTag
		if gt == nil {
			gt = describe
		}
		tag, from = gt(ctx), "git describe"
	}
	if !strings.HasPrefix(tag, GitTagPrefix) {
		return "", "", nil
	}
	v := strings.TrimPrefix(tag, GitTagPrefix)
	if !semver.MatchString(v) {
		return "", tag, option.Usagef("git tag %q (from %s) is not %sX.Y.Z: tag releases like %s1.2.3 (or %s1.2.3-rc.1), or set %s to publish explicit tags",
			tag, from, GitTagPrefix, GitTagPrefix, GitTagPrefix, option.Env(option.Tags))
	}
	return v, tag, nil
}

// describe returns the release tag pointing at HEAD, or "".
func describe(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "describe", "--exact-match", "--tags", "--match", GitTagPrefix+"*", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// parseTags turns bare tags and full references into tag references.
func parseTags(repo name.Repository, items []string, from any, opts []name.Option) ([]name.Tag, error) {
	var out []name.Tag
	seen := map[string]bool{}
	for _, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var t name.Tag
		var err error
		if strings.ContainsAny(item, "/:@") {
			// A tag name cannot contain these: this is a full reference.
			if strings.Contains(item, "@") {
				return nil, option.Usagef("%s: %q names a digest; give tags (repo:tag or a bare tag), the digest is computed", from, item)
			}
			t, err = name.NewTag(item, opts...)
			if err == nil && !strings.Contains(item[strings.LastIndex(item, "/")+1:], ":") {
				err = fmt.Errorf("it has no :tag")
			}
		} else {
			if repo.RepositoryStr() == "" {
				return nil, option.Usagef("%s: bare tag %q needs an image repository: set the image name, or give full references", from, item)
			}
			t, err = name.NewTag(repo.Name()+":"+item, opts...)
		}
		if err != nil {
			return nil, option.Usagef("%s: %q is not a valid tag (%w): use tags like 1.2.3 or registry/repo:1.2.3", from, item, err)
		}
		if !seen[t.Name()] {
			seen[t.Name()] = true
			out = append(out, t)
		}
	}
	return out, nil
}
