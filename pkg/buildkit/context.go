package buildkit

import (
	"context"
	gofs "io/fs"
	"path"
	"sort"
	"strings"

	"github.com/tonistiigi/fsutil"
)

// contextFS is the file tree a build context sends: dir filtered by the
// include and exclude patterns, exactly as BuildKit will walk it.
func contextFS(dir string, includes, excludes []string) (fsutil.FS, error) {
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		return nil, err
	}
	if len(includes) == 0 && len(excludes) == 0 {
		return fs, nil
	}
	return fsutil.NewFilterFS(fs, &fsutil.FilterOpt{IncludePatterns: includes, ExcludePatterns: excludes})
}

// ContextStats is what a build context holds.
type ContextStats struct {
	Files int
	Bytes int64
	// Dirs are the largest directories, biggest first: each top-level
	// directory below the context's roots (the includes, or the context
	// directory itself) with the bytes under it.
	Dirs []DirSize
}

// DirSize is the size of one directory of a build context.
type DirSize struct {
	Path  string // relative to the context directory, slash-separated
	Bytes int64
}

// MeasureContext walks the context exactly as Solve sends it (same
// includes and excludes), so the numbers in the build log are what leaves
// the machine.
func MeasureContext(ctx context.Context, dir string, includes, excludes []string) (ContextStats, error) {
	var st ContextStats
	abs, err := existingDir(dir, "build context")
	if err != nil {
		return st, err
	}
	fs, err := contextFS(abs, includes, excludes)
	if err != nil {
		return st, err
	}
	roots := make([]string, len(includes))
	for i, inc := range includes {
		roots[i] = path.Clean(inc)
	}
	sizes := map[string]int64{}
	err = fs.Walk(ctx, "", func(p string, entry gofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if entry.IsDir() {
			return nil
		}
		info, err := entry.Info()
		if err != nil {
			return err
		}
		st.Files++
		st.Bytes += info.Size()
		sizes[bucket(p, roots)] += info.Size()
		return nil
	})
	for p, n := range sizes {
		st.Dirs = append(st.Dirs, DirSize{Path: p, Bytes: n})
	}
	sort.Slice(st.Dirs, func(i, j int) bool {
		if st.Dirs[i].Bytes != st.Dirs[j].Bytes {
			return st.Dirs[i].Bytes > st.Dirs[j].Bytes
		}
		return st.Dirs[i].Path < st.Dirs[j].Path
	})
	return st, err
}

// bucket is the directory a file is counted under: the first directory
// below the root that holds it (a file directly in a root counts for the
// root).
func bucket(p string, roots []string) string {
	root := ""
	for _, r := range roots {
		if r == "." {
			continue
		}
		if p == r || strings.HasPrefix(p, r+"/") {
			if len(r) > len(root) {
				root = r
			}
		}
	}
	rest := p
	if root != "" {
		rest = strings.TrimPrefix(p, root+"/")
	}
	first, _, nested := strings.Cut(rest, "/")
	if !nested {
		if root == "" {
			return "."
		}
		return root
	}
	return path.Join(root, first)
}
