package pipeline

import (
	"strings"
	"sync"
	"time"

	bkclient "github.com/moby/buildkit/client"
	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

type logCollector struct {
	mu    sync.Mutex
	names map[string]string
	logs  map[string]*strings.Builder
}

func (l *logCollector) add(ss *bkclient.SolveStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range ss.Vertexes {
		l.names[v.Digest.String()] = v.Name
	}
	for _, lg := range ss.Logs {
		b := l.logs[lg.Vertex.String()]
		if b == nil {
			b = &strings.Builder{}
			l.logs[lg.Vertex.String()] = b
		}
		b.Write(lg.Data)
	}
}

func (l *logCollector) byName() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	for d, b := range l.logs {
		n := l.names[d]
		if n == "" {
			n = d
		}
		out[n] += b.String()
	}
	return out
}

// builderStages reports how the embedded builder's stages went in a solve:
// reused (every step cached) or built, and how long the steps that ran
// took, from the first start to the last completion.
func builderStages(res *buildkit.Result) (ran bool, took time.Duration, found bool) {
	if res == nil {
		return false, 0, false
	}
	var first, last time.Time
	for _, v := range res.Vertexes {
		if !isBuilderStep(v.Name) {
			continue
		}
		found = true
		if v.Cached || v.Started == nil || v.Completed == nil {
			continue
		}
		ran = true
		if first.IsZero() || v.Started.Before(first) {
			first = *v.Started
		}
		if v.Completed.After(last) {
			last = *v.Completed
		}
	}
	if ran {
		took = last.Sub(first)
	}
	return ran, took, found
}

// isBuilderStep says whether a vertex is a RUN step of either builder
// stage: "[muslrust-chef 3/7] RUN ..." or "[linux/arm64 muslrust-chef-native
// 2/7] RUN ...". Only RUN steps do the builder's work; its FROM is resolved
// (not cached) on every solve.
func isBuilderStep(vertexName string) bool {
	head, rest, ok := strings.Cut(strings.TrimPrefix(vertexName, "["), "] ")
	if !ok || !strings.HasPrefix(vertexName, "[") || !strings.HasPrefix(rest, "RUN ") {
		return false
	}
	for _, f := range strings.Fields(head) {
		if f == muslrustchef.StageName || f == builder.NativeStageName {
			return true
		}
	}
	return false
}
