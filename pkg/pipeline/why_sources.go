package pipeline

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/provenance"
)

// readPrevDist reads the provenance statements of the build that dist
// holds, before this build's export replaces them: the record to compare
// with when there is no image to read it from. A platform without one
// (first build, an older kit's dist) is left out; one that cannot be read
// too, with a warning: the build does not depend on it.
func readPrevDist(dist, bin string, ps []platform.Platform, log io.Writer) map[platform.Platform][]byte {
	out := map[platform.Platform][]byte{}
	for _, p := range ps {
		f := prevDistFile(dist, bin, p)
		b, err := os.ReadFile(f)
		switch {
		case err == nil:
			out[p] = b
		case !errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(log, "build: warning: why did cook run: cannot read the previous build's %s: %s\n", f, oneline.Err(err))
		}
	}
	return out
}

// prevDistFile is p's provenance statement in dist.
func prevDistFile(dist, bin string, p platform.Platform) string {
	return filepath.Join(dist, p.DistDir(), provenance.FileName(bin))
}

// cacheTried names what p's cook could have been reused from: the cook's
// cache refs, or a local cache's cook directory (a split node's own, for
// a split over several nodes); nil when the build had no cache but
// BuildKit's own.
func cacheTried(s *Solved, p platform.Platform) []string {
	for i := range s.Nodes {
		if s.Nodes[i].Platform == p {
			s = &s.Nodes[i].Solved
			break
		}
	}
	if len(s.Cache.Cook.From) > 0 {
		return append([]string(nil), s.Cache.Cook.From...)
	}
	if s.Cache.Cook.Dir != "" {
		return []string{"local:" + s.Cache.Cook.Dir}
	}
	return nil
}
