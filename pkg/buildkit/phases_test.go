package buildkit

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// testdata/vertices-cross-build.json is the Result.Vertexes of a real
// cross build of testdata/cross (the kit's own builder, cook and build
// from BuildKit's cache, registry cache imported and exported, local
// export of dist), recorded from pkg/pipeline. The embedded builder's
// context was sent twice, overlapping the build context and the
// skeleton: the upload is their union, not their sum.
func TestPhasesOfRecordedCrossBuild(t *testing.T) {
	data, err := os.ReadFile("testdata/vertices-cross-build.json")
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(data, &r.Vertexes); err != nil {
		t.Fatal(err)
	}
	got := r.Phases()
	want := Phases{
		// 09:02:25.517233859 ([context muslrust-chef-context] starts) to
		// 09:02:28.344407066 (its second upload ends).
		ContextUpload: 2827173207 * time.Nanosecond,
		CacheImport:   162191447 * time.Nanosecond,
		CacheExport:   62355450389 * time.Nanosecond,
		Export:        1247118596 * time.Nanosecond,
	}
	if got != want {
		t.Errorf("phases:\n got %+v\nwant %+v", got, want)
	}
	var sum time.Duration
	for _, v := range r.Vertexes {
		if IsContextUpload(v) {
			sum += v.Completed.Sub(*v.Started)
		}
	}
	if sum <= got.ContextUpload {
		t.Errorf("the recording no longer has overlapping uploads (sum %s, union %s)", sum, got.ContextUpload)
	}
}

func TestBusyIsTheUnionOfIntervals(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	at := func(s float64) *time.Time { v := t0.Add(time.Duration(s * float64(time.Second))); return &v }
	vs := []Vertex{
		{Name: "a", Started: at(5), Completed: at(7)},     // disjoint, after
		{Name: "a", Started: at(0), Completed: at(2)},     // first
		{Name: "a", Started: at(1), Completed: at(3)},     // overlaps the first
		{Name: "a", Started: at(1.5), Completed: at(2.5)}, // inside both
		{Name: "a", Started: at(3), Completed: at(4)},     // touches the end of the third
		{Name: "a", Started: at(8)},                       // never completed: nothing
		{Name: "a", Completed: at(9)},                     // never started: nothing
		{Name: "b", Started: at(0), Completed: at(100)},   // not selected
	}
	got := Busy(vs, func(v Vertex) bool { return v.Name == "a" })
	if want := 6 * time.Second; got != want { // [0,4] and [5,7]
		t.Errorf("busy %s, want %s", got, want)
	}
	if got := Busy(nil, func(Vertex) bool { return true }); got != 0 {
		t.Errorf("no vertices: %s", got)
	}
	var nilResult *Result
	if got := nilResult.Phases(); got != (Phases{}) {
		t.Errorf("nil result: %+v", got)
	}
}
