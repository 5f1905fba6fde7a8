package chef

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir/crashtest"
)

// -planDir=. (or any directory of the user's) is refused and left as it
// was: the plan writer deletes only what it wrote.
func TestPlanRefusesForeignDirectory(t *testing.T) {
	ws := fixture(t, "simple")
	before := treeDigest(t, ws)
	wd, _ := os.Getwd()
	if err := os.Chdir(ws); err != nil {
		t.Fatal(err)
	}
	_, err := PlanAndWrite(Options{Workspace: "."}, ".", &bytes.Buffer{})
	os.Chdir(wd)
	want := "plan directory: . is a non-empty directory muslrust-chef did not write (it has no .muslrust-chef file): refusing to replace it; set -planDir / MUSLRUST_CHEF_PLAN_DIR to a new or empty directory (default target/muslrust-chef)"
	if err == nil || err.Error() != want {
		t.Fatalf("plan into the workspace: %v\nwant %s", err, want)
	}
	if after := treeDigest(t, ws); after != before {
		t.Fatal("the workspace changed")
	}
	// The plan directory it writes carries the marker, so it is replaced
	// next time.
	planDir := filepath.Join(t.TempDir(), "plan")
	for i := 0; i < 2; i++ {
		if _, err := PlanAndWrite(Options{Workspace: ws}, planDir, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(planDir, atomicdir.Marker)); err != nil || !strings.Contains(string(b), "rust:plan") {
		t.Fatalf("marker: %q %v", b, err)
	}
}

// Killed between writing the new plan and swapping it in: the previous
// plan is whole, and the next plan cleans up after the killed one.
func TestPlanCrashKeepsPreviousPlan(t *testing.T) {
	ws := fixture(t, "simple")
	planDir := filepath.Join(t.TempDir(), "plan")
	if _, err := PlanAndWrite(Options{Workspace: ws}, planDir, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	before := treeDigest(t, planDir)
	writeFile(t, filepath.Join(ws, "src", "extra.rs"), "")
	writeFile(t, filepath.Join(ws, "src", "bin", "second.rs"), "fn main() {}\n")
	crashtest.Run(t, planDir, func(planDir string) {
		PlanAndWrite(Options{Workspace: ws}, planDir, &bytes.Buffer{})
	})
	if after := treeDigest(t, planDir); after != before {
		t.Fatal("the previous plan changed after a crash before the swap")
	}
	if entries, _ := os.ReadDir(filepath.Dir(planDir)); len(entries) != 2 {
		t.Fatalf("the killed run left no temporary plan: %v", entries)
	}
	if _, err := PlanAndWrite(Options{Workspace: ws}, planDir, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if treeDigest(t, planDir) == before {
		t.Fatal("the new plan did not replace the old one")
	}
	if entries, _ := os.ReadDir(filepath.Dir(planDir)); len(entries) != 1 {
		t.Fatalf("leftovers of the killed run: %v", entries)
	}
}
