package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	bkclient "github.com/moby/buildkit/client"

	muslrustchef "github.com/muslrust-chef/muslrust-chef/images/muslrust-chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

// solve runs the request, collecting every step's log lines, and turns a
// failing cargo step into one line quoting cargo's first error.
func solve(ctx context.Context, rt Runtime, req buildkit.Request, r *Result) error {
	lc := &logCollector{names: map[string]string{}, logs: map[string]*strings.Builder{}}
	req.OnStatus = func(ss *bkclient.SolveStatus) {
		lc.add(ss)
		if rt.OnStatus != nil {
			rt.OnStatus(ss)
		}
	}
	res, err := rt.BuildKit.Solve(ctx, req)
	r.Solve = res
	r.Logs = lc.byName()
	if r.Builder != nil && r.Builder.Embedded {
		if ran, took, found := builderStages(res); found {
			r.BuilderBuilt, r.BuilderTook = ran, took
			if ran {
				fmt.Fprintf(rt.Log, "builder: built in %s\n", took.Round(time.Second))
			} else {
				fmt.Fprintln(rt.Log, "builder: reused")
			}
		}
	}
	if err == nil {
		return nil
	}
	if res != nil {
		for _, v := range res.Vertexes {
			if v.Error == "" || !strings.Contains(v.Name, "] RUN ") {
				continue
			}
			head, _, _ := strings.Cut(strings.TrimPrefix(v.Name, "["), "]")
			// The template's own checks (a declared tool missing from the
			// builder, a build platform mismatch) say what to do already.
			if msg := templateError(r.Logs[v.Name]); msg != "" {
				return &buildkit.Error{Err: err, Msg: fmt.Sprintf("[%s] %s", head, msg)}
			}
			if first := firstCargoError(r.Logs[v.Name]); first != "" {
				return &buildkit.Error{Err: err, Msg: fmt.Sprintf("cargo failed in [%s]: %s: fix it and run again (cargo's full output is in the progress above)", head, first)}
			}
		}
	}
	return err
}

// templateError finds the message of a check in images/app/Dockerfile that
// stopped the step: a line "muslrust-chef: ...".
func templateError(log string) string {
	for _, line := range strings.Split(log, "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "muslrust-chef: "); ok {
			return m
		}
	}
	return ""
}

// firstCargoError finds the first "error..." line cargo or rustc printed.
func firstCargoError(log string) string {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var msg string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "error") {
			msg = line
			// rustc's "error[E0425]: ..." says more than cargo's summary
			// "error: could not compile"; prefer the first specific one.
			if !strings.HasPrefix(line, "error: could not compile") && !strings.HasPrefix(line, "error: aborting") {
				return line
			}
		}
	}
	return msg
}

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
