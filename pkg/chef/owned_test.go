package chef

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir/crashtest"
)

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
