// Package imagetags decides which tags a pushed image gets, the way the
// original CI did and the way GitHub workflows expect: explicit tags, else
// docker/metadata-action's output (DOCKER_METADATA_OUTPUT_JSON), else a git
// tag muslrust-chef-vX.Y.Z on the commit being built (X.Y.Z, X.Y and X).
package imagetags

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// GitTagPrefix marks release tags of the builder image.
const GitTagPrefix = "muslrust-chef-v"

// MetadataEnv is where docker/metadata-action leaves its result as JSON.
const MetadataEnv = "DOCKER_METADATA_OUTPUT_JSON"

// Resolved is the outcome of Resolve.
type Resolved struct {
	// Refs are full tag references, in order, without duplicates.
	Refs []name.Tag
	// From says where the tags came from, for messages.
	From string
	// Version is X.Y.Z[-pre] from a release git tag or metadata-action's
	// version label; empty otherwise.
	Version string
	// Labels are metadata-action's OCI labels (revision, source, ...).
	Labels map[string]string
}

// Input is what Resolve looks at. Env and Git default to the process
// environment and `git` in the current directory.
type Input struct {
	// Repo is the image repository; bare tag names are put in it.
	Repo name.Repository
	// Explicit are tags from MUSLRUST_CHEF_TAGS or a flag: bare tags
	// ("1.2") or full references ("ghcr.io/org/img:1.2").
	Explicit []string
	// ExplicitFrom names the knob, for messages.
	ExplicitFrom string
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// GitTag returns the release tag on HEAD, or "" (git describe when nil).
	GitTag func(ctx context.Context) string
	// NameOptions are passed to the reference parser (name.Insecure for
	// plain-HTTP registries).
	NameOptions []name.Option
}

// Resolve picks the tags: Explicit, else DOCKER_METADATA_OUTPUT_JSON's
// tags, else the release git tag. No source at all gives no tags and no
// error; a malformed release git tag is an error.
func Resolve(ctx context.Context, in Input) (Resolved, error) {
	getenv := in.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if len(in.Explicit) > 0 {
		from := in.ExplicitFrom
		if from == "" {
			from = "explicit tags"
		}
		refs, err := parseTags(in.Repo, in.Explicit, from, in.NameOptions)
		res := Resolved{Refs: refs, From: from}
		// The version label still follows a release tag when there is one.
		if v, _, gerr := gitVersion(ctx, in, getenv); gerr == nil {
			res.Version = v
		}
		return res, err
	}
	if js := strings.TrimSpace(getenv(MetadataEnv)); js != "" {
		var md struct {
			Tags   []string          `json:"tags"`
			Labels map[string]string `json:"labels"`
		}
		if err := json.Unmarshal([]byte(js), &md); err != nil {
			return Resolved{}, fmt.Errorf("%s is not docker/metadata-action's JSON (%v): pass steps.<id>.outputs.json through, or unset it", MetadataEnv, err)
		}
		if len(md.Tags) > 0 {
			refs, err := parseTags(in.Repo, md.Tags, MetadataEnv, in.NameOptions)
			return Resolved{Refs: refs, From: MetadataEnv, Version: md.Labels["org.opencontainers.image.version"], Labels: md.Labels}, err
		}
	}
	version, tag, err := gitVersion(ctx, in, getenv)
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

// gitVersion finds the release tag: GITHUB_REF in Actions (refs/tags/...),
// else `git describe --exact-match` on HEAD. It returns the version and the
// tag; a tag with the release prefix but no X.Y.Z after it is an error.
func gitVersion(ctx context.Context, in Input, getenv func(string) string) (string, string, error) {
	var tag, from string
	if ref := getenv("GITHUB_REF"); ref != "" {
		// In Actions GITHUB_REF is authoritative: a branch build has no
		// release tag even if HEAD happens to carry one.
		tag, from = strings.TrimPrefix(ref, "refs/tags/"), "GITHUB_REF"
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
		return "", tag, fmt.Errorf("git tag %q (from %s) is not %sX.Y.Z: tag releases like %s1.2.3 (or %s1.2.3-rc.1), or set MUSLRUST_CHEF_TAGS to publish explicit tags",
			tag, from, GitTagPrefix, GitTagPrefix, GitTagPrefix)
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
func parseTags(repo name.Repository, items []string, from string, opts []name.Option) ([]name.Tag, error) {
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
				return nil, fmt.Errorf("%s: %q names a digest; give tags (repo:tag or a bare tag), the digest is computed", from, item)
			}
			t, err = name.NewTag(item, opts...)
			if err == nil && !strings.Contains(item[strings.LastIndex(item, "/")+1:], ":") {
				err = fmt.Errorf("it has no :tag")
			}
		} else {
			if repo.RepositoryStr() == "" {
				return nil, fmt.Errorf("%s: bare tag %q needs an image repository: set the image name, or give full references", from, item)
			}
			t, err = name.NewTag(repo.Name()+":"+item, opts...)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a valid tag (%v): use tags like 1.2.3 or registry/repo:1.2.3", from, item, err)
		}
		if !seen[t.Name()] {
			seen[t.Name()] = true
			out = append(out, t)
		}
	}
	return out, nil
}
