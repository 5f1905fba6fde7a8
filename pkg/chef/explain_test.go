package chef_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// -planDir=. (or any directory of the user's) is refused and left as it
// was: the plan writer deletes only what it wrote. The refusal names the
// knobs once pkg/config explains it (an external test: config will import
// chef).
func TestPlanRefusesForeignDirectory(t *testing.T) {
	ws := chef.Fixture(t, "simple")
	before := chef.TreeDigest(t, ws)
	wd, _ := os.Getwd()
	if err := os.Chdir(ws); err != nil {
		t.Fatal(err)
	}
	_, err := chef.PlanAndWrite(chef.Options{Workspace: "."}, ".", &bytes.Buffer{})
	os.Chdir(wd)
	want := "plan directory: . is a non-empty directory muslrust-chef did not write (it has no .muslrust-chef file): refusing to replace it; set -planDir / MUSLRUST_CHEF_PLAN_DIR to a new or empty directory (default target/muslrust-chef)"
	if got := config.Explain(err); err == nil || got != want {
		t.Fatalf("plan into the workspace: %s\nwant %s", got, want)
	}
	if after := chef.TreeDigest(t, ws); after != before {
		t.Fatal("the workspace changed")
	}
	// The plan directory it writes carries the marker, so it is replaced
	// next time.
	planDir := filepath.Join(t.TempDir(), "plan")
	for i := 0; i < 2; i++ {
		if _, err := chef.PlanAndWrite(chef.Options{Workspace: ws}, planDir, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(planDir, atomicdir.Marker)); err != nil || !strings.Contains(string(b), "rust:plan") {
		t.Fatalf("marker: %q %v", b, err)
	}
}

// A workspace without Cargo.toml is a usage mistake whose message names
// both knobs of the workspace option.
func TestMissingWorkspaceIsUsage(t *testing.T) {
	dir := t.TempDir()
	_, err := chef.Load(dir)
	want := filepath.Join(dir, "Cargo.toml") + " does not exist; point MUSLRUST_CHEF_WORKSPACE (or -workspace) at the directory holding the root Cargo.toml"
	if got := config.Explain(err); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !option.Usage(err) {
		t.Errorf("%v is not a usage error", err)
	}
}
