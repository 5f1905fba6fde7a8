package pipeline

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// A build that ran everything: the cook from cache, the kit's builder
// reused.
func sampleBuildTimings() Timings {
	return Timings{
		What: "build",
		Plan: ms(21),
		SolveTimings: SolveTimings{
			Context:     ContextTimings{Files: 41, Bytes: 90112, Upload: ms(104)},
			Builder:     Step{Seen: true, Reused: true},
			Cook:        Step{Seen: true, Reused: true},
			Build:       Step{Seen: true, Took: ms(3904)},
			Export:      ms(98),
			CacheImport: ms(412),
			CacheExport: ms(4),
		},
		Verify: ms(12), Slim: ms(87), Records: ms(31), Push: ms(503), Total: ms(5318),
		reached: []string{stagePlan, stageSolve, stageVerify, stageSlim, stageRecords, stagePush},
		solved:  true,
	}
}

func TestTimingsLine(t *testing.T) {
	got := sampleBuildTimings().Line()
	want := "timings: plan 0.02s, context 41 files 88.0 kB 0.1s, builder reused, cook reused, build ran 3.9s, export 0.1s, cache import 0.41s export 0s, verify 0.01s, slim 0.09s, records 0.03s, push 0.5s, total 5.32s"
	if got != want {
		t.Errorf("line:\n got %s\nwant %s", got, want)
	}

	ran := Timings{What: "cook", Plan: ms(3),
		SolveTimings: SolveTimings{Context: ContextTimings{Files: 3, Bytes: 900, Upload: ms(20)},
			Builder: Step{Seen: true, Took: ms(61234)}, Cook: Step{Seen: true, Took: ms(41207)}, CacheExport: ms(2346)},
		Total: ms(105000), reached: []string{stagePlan, stageSolve}, solved: true}
	want = "timings: plan 0s, context 3 files 900 B 0.02s, builder built 61.23s, cook ran 41.21s, cache import 0s export 2.35s, total 105s"
	if got := ran.Line(); got != want {
		t.Errorf("cook line:\n got %s\nwant %s", got, want)
	}

	// A build that failed in the solve before the context was read says
	// so and leaves out what it did not reach.
	failed := Timings{What: "build", Plan: ms(15), Total: ms(800), Failed: stageSolve, reached: []string{stagePlan, stageSolve}}
	want = "timings: plan 0.02s, total 0.8s (failed in solve)"
	if got := failed.Line(); got != want {
		t.Errorf("failed line:\n got %s\nwant %s", got, want)
	}
}

func TestTimingsJSON(t *testing.T) {
	b, err := json.MarshalIndent(sampleBuildTimings(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "what": "build",
  "plan_s": 0.021,
  "context_files": 41,
  "context_bytes": 90112,
  "context_upload_s": 0.104,
  "builder_reused": true,
  "builder_s": 0,
  "cook_reused": true,
  "cook_s": 0,
  "build_reused": false,
  "build_s": 3.904,
  "export_s": 0.098,
  "cache_import_s": 0.412,
  "cache_export_s": 0.004,
  "verify_s": 0.012,
  "slim_s": 0.087,
  "records_s": 0.031,
  "push_s": 0.503,
  "total_s": 5.318
}`
	if string(b) != want {
		t.Errorf("JSON:\n%s\nwant:\n%s", b, want)
	}

	failed := Timings{What: "build", Plan: ms(15), Total: ms(800), Failed: stageSolve, reached: []string{stagePlan, stageSolve}}
	b, err = json.MarshalIndent(failed, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = `{
  "what": "build",
  "failed": "solve",
  "plan_s": 0.015,
  "context_files": null,
  "context_bytes": null,
  "context_upload_s": null,
  "builder_reused": null,
  "builder_s": null,
  "cook_reused": null,
  "cook_s": null,
  "build_reused": null,
  "build_s": null,
  "export_s": null,
  "cache_import_s": null,
  "cache_export_s": null,
  "verify_s": null,
  "slim_s": null,
  "records_s": null,
  "push_s": null,
  "total_s": 0.8
}`
	if string(b) != want {
		t.Errorf("failed JSON:\n%s\nwant:\n%s", b, want)
	}
}

func TestTimingsMarkdown(t *testing.T) {
	want := `### muslrust-chef build timings

| stage | time | |
|---|---:|---|
| plan | 0.02s |  |
| context upload | 0.1s | 41 files, 88.0 kB |
| builder | 0s | reused |
| cook | 0s | reused |
| build | 3.9s | ran |
| export | 0.1s |  |
| cache import | 0.41s |  |
| cache export | 0s |  |
| verify | 0.01s |  |
| slim | 0.09s |  |
| records | 0.03s |  |
| push | 0.5s |  |
| **total** | **5.32s** | |
`
	if got := sampleBuildTimings().Markdown(); got != want {
		t.Errorf("markdown:\n%s\nwant:\n%s", got, want)
	}
	failed := Timings{What: "cook", Plan: ms(15), Total: ms(800), Failed: stagePlan, reached: []string{stagePlan}}
	want = `### muslrust-chef cook (failed in plan) timings

| stage | time | |
|---|---:|---|
| plan | 0.02s |  |
| **total** | **0.8s** | |
`
	if got := failed.Markdown(); got != want {
		t.Errorf("failed markdown:\n%s\nwant:\n%s", got, want)
	}
}

// The file is written whole, replaces a timings file written before, and
// never a file of the user's.
func TestTimingsWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "timings.json")
	tm := sampleBuildTimings()
	for i := 0; i < 2; i++ {
		if err := tm.WriteFile(path); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(tm, "", "  ")
	if string(data) != string(want)+"\n" {
		t.Errorf("file holds:\n%s", data)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("left beside the file: %v", entries)
	}

	mine := filepath.Join(t.TempDir(), "notes.json")
	os.WriteFile(mine, []byte(`{"todo": 1}`), 0o644)
	err = tm.WriteFile(mine)
	if err == nil || !strings.Contains(config.Explain(err), "refusing to replace it; set -timings / MUSLRUST_CHEF_TIMINGS to a new file or a timings file written before") {
		t.Fatalf("a user's JSON file: %v", config.Explain(err))
	}
	if data, _ := os.ReadFile(mine); string(data) != `{"todo": 1}` {
		t.Errorf("the user's file was changed: %s", data)
	}
}

// finish fills in the total and the failed stage, and logs the line.
func TestTimerFinish(t *testing.T) {
	r := &Result{}
	tm := startTimings("build", r)
	tm.begin(stagePlan)
	tm.begin(stageSolve)
	var log strings.Builder
	tm.finish(r, errors.New("boom"), &log)
	if r.Timings.Failed != stageSolve || r.Timings.Total <= 0 {
		t.Errorf("failed %q, total %s", r.Timings.Failed, r.Timings.Total)
	}
	if !strings.HasPrefix(log.String(), "timings: plan ") || !strings.HasSuffix(log.String(), " (failed in solve)\n") {
		t.Errorf("log: %q", log.String())
	}
}

// The solve's parts of a real cross build (pkg/buildkit's recording): the
// kit's own builder, cook and build all came from BuildKit's cache.
func TestSolveTimingsOfRecordedCrossBuild(t *testing.T) {
	data, err := os.ReadFile("../buildkit/testdata/vertices-cross-build.json")
	if err != nil {
		t.Fatal(err)
	}
	res := &buildkit.Result{}
	if err := json.Unmarshal(data, &res.Vertexes); err != nil {
		t.Fatal(err)
	}
	s := &Solved{Builder: &builder.Builder{Embedded: true}, Strategy: StrategyCross, Solve: res,
		Context: buildkit.ContextStats{Files: 9, Bytes: 6656}}
	got := solveTimings(s)
	want := SolveTimings{
		Context: ContextTimings{Files: 9, Bytes: 6656, Upload: res.Phases().ContextUpload},
		Builder: Step{Seen: true, Reused: true},
		Cook:    Step{Seen: true, Reused: true},
		Build:   Step{Seen: true, Reused: true},
		Export:  res.Phases().Export, CacheImport: res.Phases().CacheImport, CacheExport: res.Phases().CacheExport,
	}
	if got != want {
		t.Errorf("solve timings:\n got %+v\nwant %+v", got, want)
	}
	if got.Context.Upload <= 0 || got.Export <= 0 || got.CacheImport <= 0 || got.CacheExport <= 0 {
		t.Errorf("a phase of the recording is missing: %+v", got)
	}
}

// Emulate runs cook and build once per platform, in parallel: each stage
// is the union of its platforms' RUN steps; a published builder's FROM is
// the builder's part.
func TestSolveTimingsOfParallelPlatforms(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	at := func(s int) *time.Time { v := t0.Add(time.Duration(s) * time.Second); return &v }
	v := func(name string, from, to int, cached bool) buildkit.Vertex {
		return buildkit.Vertex{Name: name, Started: at(from), Completed: at(to), Cached: cached}
	}
	res := &buildkit.Result{Vertexes: []buildkit.Vertex{
		v("[linux/amd64 builder 1/1] FROM 127.0.0.1:5123/b@sha256:aa", 0, 4, false),
		v("[linux/arm64 builder 1/1] FROM 127.0.0.1:5123/b@sha256:aa", 1, 6, false),
		v("[linux/amd64 cook 3/3] RUN cargo build", 6, 30, false),
		v("[linux/arm64 cook 3/3] RUN cargo build", 6, 50, false),
		v("[linux/amd64 cook 2/3] COPY --from=skeleton . /src/", 5, 6, false),
		v("[linux/amd64 build 3/3] RUN cargo build", 50, 53, true),
		v("[linux/arm64 build 3/3] RUN cargo build", 52, 60, false),
	}}
	got := solveTimings(&Solved{Builder: &builder.Builder{Ref: "b"}, Strategy: StrategyEmulate, Solve: res})
	if want := (Step{Seen: true, Took: 6 * time.Second}); got.Builder != want {
		t.Errorf("builder %+v, want %+v", got.Builder, want)
	}
	if !strings.Contains((Timings{What: "build", SolveTimings: got, reached: []string{stageSolve}, solved: true}).Line(), ", builder image 6s, cook ran 44s, build ran 8s, ") {
		t.Errorf("line of a published builder: %s", (Timings{What: "build", SolveTimings: got, reached: []string{stageSolve}, solved: true}).Line())
	}
	if want := (Step{Seen: true, Took: 44 * time.Second}); got.Cook != want {
		t.Errorf("cook %+v, want %+v", got.Cook, want)
	}
	// The amd64 build came from cache: only arm64's counts, and the stage
	// is not reused as a whole.
	if want := (Step{Seen: true, Took: 8 * time.Second}); got.Build != want {
		t.Errorf("build %+v, want %+v", got.Build, want)
	}
}

// The cook cache exported by the build's second solve counts in the cache
// export (overlap with the first solve's export once); a build split over
// two nodes has each node's parts and, on top, the union over both.
func TestSolveTimingsOfCookExportAndNodes(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	at := func(s int) *time.Time { v := t0.Add(time.Duration(s) * time.Second); return &v }
	v := func(name string, from, to int, cached bool) buildkit.Vertex {
		return buildkit.Vertex{Name: name, Started: at(from), Completed: at(to), Cached: cached}
	}
	build := &buildkit.Result{Vertexes: []buildkit.Vertex{
		v("[internal] load build context", 0, 1, false),
		v("[linux/amd64 cook 3/3] RUN cargo build", 1, 10, false),
		v("[linux/amd64 build 3/3] RUN cargo build", 10, 14, false),
		v("exporting cache to registry", 14, 16, false),
	}}
	cookExport := &buildkit.Result{Vertexes: []buildkit.Vertex{
		v("[linux/amd64 cook 3/3] RUN cargo build", 10, 10, true),
		v("exporting cache to registry", 11, 15, false),
	}}
	s := &Solved{Builder: &builder.Builder{Ref: "b"}, Strategy: StrategyEmulate, Solve: build, CookExport: cookExport,
		Context: buildkit.ContextStats{Files: 2, Bytes: 10}}
	st, nodes, solved := splitTimings(s)
	if !solved || nodes != nil || st.CacheExport != 5*time.Second || st.Cook.Took != 9*time.Second || st.Cook.Reused {
		t.Errorf("build with a cook export: solved %t, nodes %v, %+v", solved, nodes, st)
	}

	arm := &buildkit.Result{Vertexes: []buildkit.Vertex{
		v("[internal] load build context", 0, 2, false),
		v("[linux/arm64 cook 3/3] RUN cargo build", 2, 20, false),
		v("[linux/arm64 build 3/3] RUN cargo build", 20, 22, false),
	}}
	amd64, arm64 := amd64(), arm64()
	split := &Solved{Strategy: StrategySplit, Nodes: []NodeSolved{
		{Platform: amd64, Node: buildkit.Node{Name: "a"}, Solved: Solved{Builder: &builder.Builder{Ref: "b"}, Strategy: StrategyEmulate, Solve: build,
			Context: buildkit.ContextStats{Files: 2, Bytes: 10}}},
		{Platform: arm64, Node: buildkit.Node{Name: "b"}, Solved: Solved{Builder: &builder.Builder{Ref: "b"}, Strategy: StrategyEmulate, Solve: arm,
			Context: buildkit.ContextStats{Files: 2, Bytes: 10}}},
	}}
	st, nodes, solved = splitTimings(split)
	if !solved || len(nodes) != 2 || nodes[0].Node != "a" || nodes[1].Platforms[0] != "linux/arm64" {
		t.Fatalf("split: solved %t, nodes %+v", solved, nodes)
	}
	if nodes[0].Cook.Took != 9*time.Second || nodes[1].Cook.Took != 18*time.Second || nodes[1].Build.Took != 2*time.Second {
		t.Errorf("per node: %+v", nodes)
	}
	if st.Cook.Took != 19*time.Second || st.Context.Upload != 2*time.Second || st.Context.Files != 2 || st.Build.Took != 6*time.Second {
		t.Errorf("over both nodes: %+v", st)
	}
}
