package buildkit

import (
	"fmt"
	"os"
	"sync"

	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	digest "github.com/opencontainers/go-digest"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
)

// newDisplay picks BuildKit's own progress display: the mode given to
// WithProgress or WithProgressMode (BUILDKIT_PROGRESS), else auto (tty when
// the writer is a terminal, plain otherwise, which is what CI logs want).
func (b *builder) newDisplay() (progressui.Display, error) {
	mode, from := b.cfg.progressMode, b.cfg.progressFrom
	if mode == "" {
		mode = string(progressui.AutoMode)
	}
	out := b.cfg.progressOut
	if out == nil {
		out = os.Stderr
	}
	d, err := progressui.NewDisplay(out, progressui.DisplayMode(mode))
	if err != nil {
		return d, fmt.Errorf("%s=%q is not a usable progress mode (%s): use auto, plain, tty (needs a terminal), quiet or rawjson", from, mode, oneline.Lines(err))
	}
	return d, nil
}

// recorder keeps the last state of every vertex, in first-seen order, so
// callers (and tests) can tell which steps ran and which came from cache.
type recorder struct {
	mu    sync.Mutex
	order []digest.Digest
	last  map[digest.Digest]*bkclient.Vertex
}

func newRecorder() *recorder {
	return &recorder{last: map[digest.Digest]*bkclient.Vertex{}}
}

func (r *recorder) add(ss *bkclient.SolveStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range ss.Vertexes {
		prev, ok := r.last[v.Digest]
		if !ok {
			r.order = append(r.order, v.Digest)
			cp := *v
			r.last[v.Digest] = &cp
			continue
		}
		// Updates are partial snapshots; keep what an earlier one knew.
		cp := *v
		if cp.Started == nil {
			cp.Started = prev.Started
		}
		if cp.Completed == nil {
			cp.Completed = prev.Completed
		}
		cp.Cached = cp.Cached || prev.Cached
		if cp.Error == "" {
			cp.Error = prev.Error
		}
		r.last[v.Digest] = &cp
	}
}

func (r *recorder) list() []Vertex {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Vertex, 0, len(r.order))
	for _, d := range r.order {
		v := r.last[d]
		out = append(out, Vertex{Name: v.Name, Cached: v.Cached, Started: v.Started, Completed: v.Completed, Error: v.Error})
	}
	return out
}
