package pipeline

import (
	"bytes"
	"context"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildspec"
	gofs "io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tonistiigi/fsutil"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
)

const testdataOutside = "../../testdata/outside"

// outsideTree is testdata/outside (a workspace at repo/app with a path
// dependency ../../textkit) inside a directory that also holds a secret,
// an unrelated directory, a .git and build output.
func outsideTree(t *testing.T) (top, ws string) {
	top = fixtures.CopyTree(t, testdataOutside)
	ws = filepath.Join(top, "repo", "app")
	fixtures.WriteFile(t, top, "secret.txt", "token\n")
	fixtures.WriteFile(t, top, "unrelated/data.bin", "data\n")
	fixtures.WriteFile(t, top, "repo/.git/config", "[core]\n")
	fixtures.WriteFile(t, top, "repo/README", "not part of the workspace\n")
	fixtures.WriteFile(t, ws, "target/debug/app", "old build\n")
	fixtures.WriteFile(t, ws, ".git/HEAD", "ref: refs/heads/main\n")
	fixtures.WriteFile(t, ws, "notes/a.log", "log\n")
	fixtures.WriteFile(t, ws, "notes/keep.log", "kept\n")
	fixtures.WriteFile(t, ws, ".dockerignore", "# comment\n**/*.log\n!notes/keep.log\n/dist\n")
	fixtures.WriteFile(t, top, "textkit/target/release/libtextkit.rlib", "old build\n")
	return top, ws
}

// sent lists the files the context sends, as BuildKit's walk sees them.
func sent(t *testing.T, l contextLayout) []string {
	t.Helper()
	fs, err := fsutil.NewFS(l.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if fs, err = fsutil.NewFilterFS(fs, &fsutil.FilterOpt{IncludePatterns: l.Includes, ExcludePatterns: l.Excludes}); err != nil {
		t.Fatal(err)
	}
	var files []string
	err = fs.Walk(context.Background(), "", func(p string, e gofs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func TestContextHoldsOnlyWorkspaceAndOutsideCrates(t *testing.T) {
	clearEnv(t)
	top, ws := outsideTree(t)
	plan, err := chef.NewPlan(chef.Options{Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	c := &Config{Spec: buildspec.Spec{Workspace: ws, Dist: filepath.Join(ws, "dist"), PlanDir: filepath.Join(ws, "target", "muslrust-chef"), Cache: "local:" + filepath.Join(ws, "ci-cache")}}
	fixtures.WriteFile(t, ws, "dist/linux_amd64/app", "old binary\n")
	fixtures.WriteFile(t, ws, "ci-cache/index.json", "{}\n")
	fixtures.WriteFile(t, ws, ".ci-cache.muslrust-chef-new-123-1/index.json", "{}\n")
	l, err := newContextLayout(c, plan.Recipe.WorkspaceDir, plan.OutsideDirs)
	if err != nil {
		t.Fatal(err)
	}
	if l.Dir != top || strings.Join(l.Includes, ",") != "repo/app,textkit" {
		t.Fatalf("layout sends %v of %s, want repo/app and textkit of %s", l.Includes, l.Dir, top)
	}
	want := []string{"repo/app/.dockerignore", "repo/app/Cargo.lock", "repo/app/Cargo.toml", "repo/app/notes/keep.log", "repo/app/src/main.rs",
		"textkit/Cargo.toml", "textkit/src/lib.rs"}
	if got := sent(t, l); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("context sends\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	st, err := buildkit.MeasureContext(context.Background(), l.Dir, l.Includes, l.Excludes)
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != len(want) {
		t.Fatalf("MeasureContext counted %d files, want %d", st.Files, len(want))
	}
	var log bytes.Buffer
	logContext(&log, "build", l, st)
	line := log.String()
	wantLine := "build: context: 7 files, "
	if !strings.HasPrefix(line, wantLine) || !strings.Contains(line, ws+" -> /src/repo/app, "+filepath.Join(top, "textkit")+" -> /src/textkit\n") ||
		strings.Count(line, "\n") != 1 || strings.Contains(line, "warning") {
		t.Fatalf("context log line %q, want %q... naming the workspace and textkit only", line, wantLine)
	}

	// The skeleton follows the same layout: the workspace and the crate.
	skel := filepath.Join(t.TempDir(), "plan")
	if err := chef.WritePlan(skel, plan.Recipe); err != nil {
		t.Fatal(err)
	}
	var skelFiles []string
	filepath.WalkDir(filepath.Join(skel, chef.SkeletonDir), func(p string, d gofs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(skel, chef.SkeletonDir), p)
			skelFiles = append(skelFiles, filepath.ToSlash(rel))
		}
		return err
	})
	sort.Strings(skelFiles)
	if got := strings.Join(skelFiles, " "); got != "repo/app/Cargo.lock repo/app/Cargo.toml repo/app/src/main.rs textkit/Cargo.toml textkit/src/lib.rs" {
		t.Fatalf("skeleton holds %s", got)
	}

	// Without outside crates the workspace is the whole context.
	c2 := &Config{Spec: buildspec.Spec{Workspace: filepath.Join(top, "textkit"), Dist: "dist", PlanDir: "plan"}}
	l2, err := newContextLayout(c2, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sent(t, l2); strings.Join(got, " ") != "Cargo.toml src/lib.rs" {
		t.Fatalf("single-workspace context sends %v", got)
	}
}

func TestLargeContextWarning(t *testing.T) {
	l := contextLayout{Dir: "/w", Roots: []contextRoot{{Host: "/w", InImage: "/src"}}}
	st := buildkit.ContextStats{Files: 3, Bytes: 300 << 20, Dirs: []buildkit.DirSize{{Path: "data", Bytes: 250 << 20}, {Path: "src", Bytes: 50 << 20}}}
	var log bytes.Buffer
	logContext(&log, "build", l, st)
	want := "build: warning: the build context is 300.0 MB, largest: /w/data (250.0 MB), /w/src (50.0 MB): leave out what the build does not need with a .dockerignore next to Cargo.toml\n"
	if !strings.HasSuffix(log.String(), want) {
		t.Fatalf("log %q, want it to end with %q", log.String(), want)
	}
}

func TestMeasureContextLargestDirs(t *testing.T) {
	top, ws := outsideTree(t)
	fixtures.WriteFile(t, ws, "src/big.rs", strings.Repeat("x", 5000))
	st, err := buildkit.MeasureContext(context.Background(), top, []string{"repo/app", "textkit"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Dirs) == 0 || st.Dirs[0].Path != "repo/app/src" {
		t.Fatalf("largest directories %v, want repo/app/src first", st.Dirs)
	}
}
