package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher/ignorefile"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildcache"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

// contextLayout is what the build context sends: the workspace and, for
// each path crate outside it, that crate's directory alone, each at the
// relative place cargo expects under /src. Dir is the directory the
// patterns are relative to (an ancestor when crates live outside the
// workspace), but only Includes are ever walked or sent.
type contextLayout struct {
	Dir                string
	Includes, Excludes []string
	// Roots are the directories sent, the workspace first.
	Roots []contextRoot
}

type contextRoot struct {
	Host    string // absolute path on this machine
	InImage string // where it lands, /src/...
}

// newContextLayout lays out the context of a plan. workspaceDir is where
// the workspace sits under /src (chef.Recipe.WorkspaceDir), outside the
// workspace-relative directories of the crates outside it
// (chef.Plan.OutsideDirs).
func newContextLayout(c *Config, workspaceDir string, outside []string) (contextLayout, error) {
	abs, err := filepath.Abs(c.Workspace)
	if err != nil {
		return contextLayout{}, err
	}
	l := contextLayout{Dir: abs}
	wsRel := "."
	if workspaceDir != "" {
		for range strings.Split(workspaceDir, "/") {
			l.Dir = filepath.Dir(l.Dir)
		}
		wsRel = workspaceDir
	}
	rels := []string{wsRel}
	for _, o := range outside {
		rel := path.Clean(path.Join(wsRel, o))
		if rel == ".." || strings.HasPrefix(rel, "../") {
			return contextLayout{}, fmt.Errorf("path dependency %s lies outside the planned layout; run rust:plan again", o)
		}
		rels = append(rels, rel)
	}
	// A crate inside another sent directory (a nested crate, or the
	// workspace inside an outer crate) is already sent with it.
	for _, rel := range rels {
		covered := false
		for _, other := range rels {
			if other != rel && (other == "." || strings.HasPrefix(rel, other+"/")) {
				covered = true
			}
		}
		if covered || contains(l.Includes, rel) {
			continue
		}
		if rel != "." {
			l.Includes = append(l.Includes, rel)
		}
		l.Roots = append(l.Roots, contextRoot{Host: filepath.Join(l.Dir, filepath.FromSlash(rel)), InImage: path.Join("/src", rel)})
		l.Excludes = append(l.Excludes, path.Join(rel, ".git"), path.Join(rel, "target"))
	}
	if wsRel == "." {
		l.Includes = nil // the workspace is the whole context
	}
	outputs := []string{c.Dist, c.PlanDir}
	if d, ok := strings.CutPrefix(strings.TrimSpace(c.Cache), buildcache.LocalPrefix); ok && strings.TrimSpace(d) != "" {
		outputs = append(outputs, strings.TrimSpace(d))
	}
	for _, d := range outputs {
		da, err := filepath.Abs(d)
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(l.Dir, da); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			// The directory and the temporary siblings it is written
			// through (".dist.muslrust-chef-new-*", internal/atomicdir): a fresh
			// temporary name in the context would change the context's
			// checksum and rerun the build step every time.
			rel = filepath.ToSlash(rel)
			l.Excludes = append(l.Excludes, rel, path.Join(path.Dir(rel), "."+path.Base(rel)+".*"))
		}
	}
	ignore, err := dockerignore(filepath.Join(abs, ".dockerignore"), wsRel)
	if err != nil {
		return contextLayout{}, err
	}
	l.Excludes = append(l.Excludes, ignore...)
	return l, nil
}

// dockerignore reads the workspace's .dockerignore, its patterns made
// relative to the context directory. BuildKit would only read a
// .dockerignore at the context's root, which is not the workspace when
// crates live outside it.
func dockerignore(file, wsRel string) ([]string, error) {
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", file, err)
	}
	defer f.Close()
	pats, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: fix the pattern", file, err)
	}
	out := make([]string, 0, len(pats))
	for _, p := range pats {
		neg := strings.HasPrefix(p, "!")
		p = path.Join(wsRel, strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/"))
		if neg {
			p = "!" + p
		}
		out = append(out, p)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// LargeContext is the context size above which the log warns and names the
// largest directories: more than a Rust workspace's sources, usually data
// or build output that .dockerignore should leave out.
const LargeContext = 200 << 20

// logContext prints what the build context sends, and warns when it is
// surprisingly large.
func logContext(w io.Writer, what string, l contextLayout, st buildkit.ContextStats) {
	roots := make([]string, len(l.Roots))
	for i, r := range l.Roots {
		roots[i] = r.Host + " -> " + r.InImage
	}
	fmt.Fprintf(w, "%s: context: %d files, %s: %s\n", what, st.Files, humanBytes(st.Bytes), strings.Join(roots, ", "))
	if st.Bytes <= LargeContext {
		return
	}
	var big []string
	for i, d := range st.Dirs {
		if i == 3 {
			break
		}
		big = append(big, fmt.Sprintf("%s (%s)", filepath.Join(l.Dir, filepath.FromSlash(d.Path)), humanBytes(d.Bytes)))
	}
	fmt.Fprintf(w, "%s: warning: the build context is %s, largest: %s: leave out what the build does not need with a .dockerignore next to Cargo.toml\n", what, humanBytes(st.Bytes), strings.Join(big, ", "))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
