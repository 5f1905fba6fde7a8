package imagetags

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

func names(ts []name.Tag) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name())
	}
	return strings.Join(out, " ")
}

func TestReleaseTagFromGitDescribe(t *testing.T) {
	git := testinfra.Tool(t, "git")
	dir := t.TempDir()
	run := func(args ...string) {
		cmd := exec.Command(git, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.test", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.test")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	run("init", "-q")
	run("commit", "-q", "--allow-empty", "-m", "x")
	run("tag", "other-v9.9.9")
	run("tag", "muslrust-chef-v1.2.3")
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)

	repo, _ := name.NewRepository("ghcr.io/org/muslrust-chef")
	res, err := Resolve(context.Background(), Input{Repo: repo})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Refs); got != "ghcr.io/org/muslrust-chef:1.2.3 ghcr.io/org/muslrust-chef:1.2 ghcr.io/org/muslrust-chef:1" || res.Version != "1.2.3" {
		t.Errorf("tags %q version %q from %s", got, res.Version, res.From)
	}
	run("tag", "-d", "muslrust-chef-v1.2.3")
	run("tag", "muslrust-chef-v1.2")
	_, err = Resolve(context.Background(), Input{Repo: repo})
	if err == nil || !strings.Contains(err.Error(), `git tag "muslrust-chef-v1.2" (from git describe) is not muslrust-chef-vX.Y.Z`) {
		t.Errorf("malformed tag on HEAD: %v", err)
	}
}

func TestResolveRules(t *testing.T) {
	repo, _ := name.NewRepository("r.example/b")
	tag := func(s string) func(context.Context) string { return func(context.Context) string { return s } }
	for _, c := range []struct {
		gitTag, want, err string
	}{
		{"muslrust-chef-v0.10.0", "r.example/b:0.10.0 r.example/b:0.10 r.example/b:0", ""},
		{"muslrust-chef-v1.0.0-rc.2", "r.example/b:1.0.0-rc.2", ""},
		{"muslrust-chef-v01.2.3", "", "is not muslrust-chef-vX.Y.Z"},
		{"muslrust-chef-v1.2.3+build5", "", "is not muslrust-chef-vX.Y.Z"},
		{"muslrust-chef-v", "", "is not muslrust-chef-vX.Y.Z"},
		{"v1.2.3", "", ""},
		{"", "", ""},
	} {
		res, err := Resolve(context.Background(), Input{Repo: repo, GitTag: tag(c.gitTag)})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.gitTag, err, c.err)
			}
			continue
		}
		if err != nil || names(res.Refs) != c.want {
			t.Errorf("%s: %q %v, want %q", c.gitTag, names(res.Refs), err, c.want)
		}
	}
	// GITHUB_REF is authoritative in Actions: a branch build has no
	// release tag even when HEAD carries one.
	res, err := Resolve(context.Background(), Input{Repo: repo, GitHubRef: "refs/heads/main", GitTag: tag("muslrust-chef-v1.0.0")})
	if err != nil || len(res.Refs) != 0 {
		t.Errorf("branch build: %v %v", res.Refs, err)
	}
	// Explicit tags win; bad ones are refused with the knob's name.
	res, err = Resolve(context.Background(), Input{Repo: repo, Explicit: []string{"edge", "edge", "r.example/c:x"}, ExplicitFrom: "MUSLRUST_CHEF_TAGS"})
	if err != nil || names(res.Refs) != "r.example/b:edge r.example/c:x" {
		t.Errorf("explicit: %q %v", names(res.Refs), err)
	}
	for _, bad := range []string{"r.example/c", "r.example/c@sha256:" + strings.Repeat("a", 64), "bad tag!"} {
		if _, err := Resolve(context.Background(), Input{Repo: repo, Explicit: []string{bad}, ExplicitFrom: "MUSLRUST_CHEF_TAGS"}); err == nil || !strings.Contains(err.Error(), "MUSLRUST_CHEF_TAGS") {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}
