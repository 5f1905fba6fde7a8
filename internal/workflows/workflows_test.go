// Package workflows_test lints the repository's GitHub Actions workflows and
// the downstream examples with actionlint, the way GitHub would read them
// (a YAML parser alone accepts a `with:` on a `run:` step; GitHub does not).
package workflows_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// dirs holds every workflow file this repository ships.
var dirs = []string{".github/workflows", "examples/workflows"}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func lint(t *testing.T, name string, content []byte) []*actionlint.Error {
	t.Helper()
	// shellcheck and pyflakes are off: run: scripts are checked by the
	// tests of the targets they call, and neither tool is provisioned.
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{Shellcheck: "", Pyflakes: ""})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.Lint(name, content, nil)
	if err != nil {
		t.Fatalf("actionlint %s: %v", name, err)
	}
	return errs
}

func TestWorkflowsPassActionlint(t *testing.T) {
	root := repoRoot(t)
	var files []string
	for _, d := range dirs {
		for _, ext := range []string{"*.yml", "*.yaml"} {
			m, err := filepath.Glob(filepath.Join(root, d, ext))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, m...)
		}
	}
	for _, want := range []string{".github/workflows/publish-builder.yml", "examples/workflows/rust-build.yml", "examples/workflows/rust-build-split.yml"} {
		found := false
		for _, f := range files {
			found = found || strings.HasSuffix(f, want)
		}
		if !found {
			t.Errorf("%s is missing: the README links it", want)
		}
	}
	for _, f := range files {
		content, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		for _, e := range lint(t, rel, content) {
			t.Errorf("%s", e)
		}
	}
}

// The linter must reject what GitHub rejects, or the test above proves
// nothing: the bug publish-builder.yml once had.
func TestActionlintRejectsWithOnRun(t *testing.T) {
	broken := `on: push
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - name: image name
        run: echo hi
        with:
          fetch-depth: 1
`
	errs := lint(t, "broken.yml", []byte(broken))
	if len(errs) == 0 {
		t.Fatal("actionlint accepted a with: block on a run: step")
	}
	t.Log(errs[0])
}

// Downstream examples show the native-runner split with a merge job and
// the single-runner build with its registry cache.
func TestExamplesShape(t *testing.T) {
	root := repoRoot(t)
	split, err := os.ReadFile(filepath.Join(root, "examples/workflows/rust-build-split.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ubuntu-24.04-arm", "-strategy=split", "mage image:merge", "needs: build"} {
		if !strings.Contains(string(split), want) {
			t.Errorf("rust-build-split.yml lacks %q", want)
		}
	}
	single, err := os.ReadFile(filepath.Join(root, "examples/workflows/rust-build.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"runs-on: ubuntu-latest", "linux/amd64,linux/arm64", "mage rust:build", "docker/login-action"} {
		if !strings.Contains(string(single), want) {
			t.Errorf("rust-build.yml lacks %q", want)
		}
	}
}
