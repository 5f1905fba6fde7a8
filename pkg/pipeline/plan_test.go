package pipeline

import (
	"bytes"
	"context"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// The plan stage plans the workspace the configuration read (WithWorkspace)
// without reading it again: with the lockfile gone from disk after Load,
// planning the workspace given still writes the same recipe a fresh read
// gave, while a plan that has to read the workspace fails.
func TestPlanUsesTheWorkspaceReadOnce(t *testing.T) {
	ws := fixtures.CopyTree(t, testdataApp)
	amd, _ := platform.Parse("linux/amd64")
	cfg := func() *Config {
		return &Config{Spec: buildspec.Spec{Workspace: ws, PlanDir: filepath.Join(t.TempDir(), "plan"), Bin: "app", Package: "app",
			Platforms: []platform.Platform{amd}, Profile: "release", Locked: true}}
	}
	fresh := cfg()
	var log bytes.Buffer
	want, err := plan(context.Background(), planIn{Config: fresh, What: "cook", Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	w, err := chef.Load(ws)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(ws, "Cargo.lock")); err != nil {
		t.Fatal(err)
	}
	once := cfg()
	got, err := plan(context.Background(), planIn{Config: once, What: "cook", Workspace: w, Log: &log})
	if err != nil {
		t.Fatalf("planning the workspace already read: %v", err)
	}
	a, _ := os.ReadFile(filepath.Join(fresh.PlanDir, chef.RecipeFile))
	b, _ := os.ReadFile(filepath.Join(once.PlanDir, chef.RecipeFile))
	if len(a) == 0 || !bytes.Equal(a, b) || strings.Join(got.Locals, ",") != strings.Join(want.Locals, ",") {
		t.Fatalf("recipe differs (%d and %d bytes) or locals %v vs %v", len(a), len(b), got.Locals, want.Locals)
	}
	if _, err := plan(context.Background(), planIn{Config: cfg(), What: "cook", Log: &log}); err == nil || !strings.Contains(err.Error(), "Cargo.lock") {
		t.Fatalf("a plan reading the workspace again: %v", err)
	}
}
