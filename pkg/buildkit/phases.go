package buildkit

import (
	"sort"
	"strings"
	"time"
)

// Phases is how long a solve spent in the phases BuildKit names itself,
// read from its vertices. Each phase is the time during which at least
// one of its vertices was running: parallel vertices (two cache imports,
// two named contexts uploading at once) are not counted twice.
type Phases struct {
	// ContextUpload is the transfer of the build context and the named
	// contexts from this client ("[internal] load build context",
	// "[context NAME] load from client").
	ContextUpload time.Duration
	// CacheImport is the reading of the remote cache manifests
	// ("importing cache manifest from REF").
	CacheImport time.Duration
	// CacheExport is the cache exporters' work ("exporting cache to
	// registry", "exporting cache to client directory").
	CacheExport time.Duration
	// Export is the exporters' work ("exporting to client directory",
	// "exporting to image").
	Export time.Duration
}

// Phases reads the phases of the solve from its vertices; a nil or partial
// Result (a failed solve) gives what was reached.
func (r *Result) Phases() Phases {
	if r == nil {
		return Phases{}
	}
	return Phases{
		ContextUpload: Busy(r.Vertexes, IsContextUpload),
		CacheImport:   Busy(r.Vertexes, prefixed("importing cache manifest from ")),
		CacheExport:   Busy(r.Vertexes, prefixed("exporting cache to ")),
		Export:        Busy(r.Vertexes, prefixed("exporting to ")),
	}
}

// IsContextUpload says whether v sends files from this client: the main
// build context or a named context given as a local directory. The names
// are BuildKit's dockerfile frontend's (dockerui).
func IsContextUpload(v Vertex) bool {
	if v.Name == "[internal] load build context" {
		return true
	}
	return strings.HasPrefix(v.Name, "[context ") && strings.HasSuffix(v.Name, "] load from client")
}

func prefixed(p string) func(Vertex) bool {
	return func(v Vertex) bool { return strings.HasPrefix(v.Name, p) }
}

// Busy is how long at least one of the vertices keep selects was running:
// the length of the union of their [Started, Completed] intervals.
// Vertices that never started or never completed (an interrupted solve)
// count for nothing.
func Busy(vs []Vertex, keep func(Vertex) bool) time.Duration {
	type span struct{ from, to time.Time }
	var spans []span
	for _, v := range vs {
		if v.Started == nil || v.Completed == nil || !keep(v) || v.Completed.Before(*v.Started) {
			continue
		}
		spans = append(spans, span{*v.Started, *v.Completed})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	var total time.Duration
	var cur span
	for i, s := range spans {
		switch {
		case i == 0:
			cur = s
		case s.from.After(cur.to):
			total += cur.to.Sub(cur.from)
			cur = s
		case s.to.After(cur.to):
			cur.to = s.to
		}
	}
	if len(spans) > 0 {
		total += cur.to.Sub(cur.from)
	}
	return total
}
