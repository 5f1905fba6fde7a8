// Package magehelp locks the kit's Mage target list and help text: what
// `mage -l` and `mage -h <target>` print is user-facing documentation.
package magehelp

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/magefile/mage/mage"

	"github.com/muslrust-chef/muslrust-chef/pkg/magerun"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func invoke(t *testing.T, inv mage.Invocation) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	inv.Dir, inv.WorkDir = root, root
	inv.Stdout, inv.Stderr = &stdout, &stderr
	inv.CacheDir = t.TempDir()
	// Under magerun's lock: a concurrent compile of these magefiles (the
	// fault suite's) briefly adds mage_output_file.go to magefiles/.
	if code := magerun.Locked(filepath.Join(root, "magefiles"), func() int { return mage.Invoke(inv) }); code != 0 {
		t.Fatalf("mage exited %d: %s%s", code, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/magehelp -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s changed; review and run go test ./internal/magehelp -update\n--- got ---\n%s\n--- want ---\n%s", file, got, want)
	}
}

var targetLine = regexp.MustCompile(`^  (\S+)\s+(.*)$`)

func TestTargetList(t *testing.T) {
	out := invoke(t, mage.Invocation{List: true})
	golden(t, "list.txt", out)

	// Every target has a one-sentence help that ends with a full stop.
	n := 0
	for _, line := range strings.Split(out, "\n") {
		m := targetLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n++
		if help := m[2]; !strings.HasSuffix(help, ".") || strings.Count(strings.TrimSuffix(help, "."), ". ") > 0 {
			t.Errorf("target %s: help %q is not one sentence", m[1], help)
		}
	}
	if n == 0 {
		t.Fatalf("no targets listed:\n%s", out)
	}
}

// Every namespaced target's help matches its golden file, and every golden
// file belongs to a listed target (so a list the pattern no longer parses
// cannot pass by checking nothing).
func TestTargetHelp(t *testing.T) {
	out := invoke(t, mage.Invocation{List: true})
	checked := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		m := targetLine.FindStringSubmatch(line)
		if m == nil || !strings.Contains(m[1], ":") {
			continue
		}
		target := m[1]
		file := "help-" + strings.ReplaceAll(target, ":", "-") + ".txt"
		checked[file] = true
		help := invoke(t, mage.Invocation{Help: true, Args: []string{target}})
		golden(t, file, help)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "help-*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !checked[filepath.Base(f)] {
			t.Errorf("%s has no target in mage -l:\n%s", f, out)
		}
	}
	if len(checked) == 0 {
		t.Fatalf("no namespaced target found in mage -l:\n%s", out)
	}
}

func TestSlimHelpNamesEveryKnob(t *testing.T) {
	help := invoke(t, mage.Invocation{Help: true, Args: []string{"rust:slim"}})
	for _, env := range []string{"MUSLRUST_CHEF_BIN", "MUSLRUST_CHEF_PLATFORMS", "MUSLRUST_CHEF_DIST", "MUSLRUST_CHEF_BASE_IMAGE",
		"MUSLRUST_CHEF_OUTPUT", "MUSLRUST_CHEF_IMAGE", "MUSLRUST_CHEF_TAGS", "SOURCE_DATE_EPOCH"} {
		if !strings.Contains(help, env) {
			t.Errorf("mage -h rust:slim does not mention %s", env)
		}
	}
}
