// Package faults holds the fault-injection suite (faults_test.go) and the
// results file its scenarios append to, which `go run mage.go faults`
// renders as a table.
package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

// ResultsEnv names the JSON-lines file scenarios append their outcome to.
const ResultsEnv = "MUSLRUST_CHEF_FAULTS_RESULTS"

// Result is one scenario's outcome.
type Result struct {
	Scenario string `json:"scenario"`
	Result   string `json:"result"`
	Intact   string `json:"intact"`
	Passed   bool   `json:"passed"`
}

var mu sync.Mutex

// Record appends the scenario's outcome (passed unless t failed by the
// end of the test) to the results file, when one is set.
func Record(t testing.TB, scenario string, result, intact *string) {
	t.Cleanup(func() {
		r := Result{Scenario: scenario, Result: *result, Intact: *intact, Passed: !t.Failed()}
		if !r.Passed && r.Result == "" {
			r.Result = "failed (see the test log)"
		}
		t.Logf("scenario %q: %s; intact: %s", r.Scenario, r.Result, r.Intact)
		path := os.Getenv(ResultsEnv)
		if path == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Errorf("results file: %v", err)
			return
		}
		defer f.Close()
		b, _ := json.Marshal(r)
		f.Write(append(b, '\n'))
	})
}

// Table renders a results file as a fixed-width table.
func Table(w io.Writer, path string) (passed, failed int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	var rs []Result
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", path, err)
		}
		rs = append(rs, r)
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Scenario < rs[j].Scenario })
	cols := [3]int{len("scenario"), len("result"), len("what stayed intact")}
	for _, r := range rs {
		cols[0] = max(cols[0], len(r.Scenario))
		cols[1] = max(cols[1], len([]rune(status(r))))
	}
	fmt.Fprintf(w, "%-*s | %-*s | %s\n", cols[0], "scenario", cols[1], "result", "what stayed intact")
	fmt.Fprintf(w, "%s-+-%s-+-%s\n", strings.Repeat("-", cols[0]), strings.Repeat("-", cols[1]), strings.Repeat("-", cols[2]))
	for _, r := range rs {
		st := status(r)
		fmt.Fprintf(w, "%-*s | %s%s | %s\n", cols[0], r.Scenario, st, strings.Repeat(" ", cols[1]-len([]rune(st))), r.Intact)
		if r.Passed {
			passed++
		} else {
			failed++
		}
	}
	return passed, failed, nil
}

// status is the result column, cut to keep the table readable (the full
// line is in the test log and the results file).
func status(r Result) string {
	s := "FAIL " + r.Result
	if r.Passed {
		s = "PASS " + r.Result
	}
	if len(s) > 110 {
		s = s[:109] + "…"
	}
	return s
}
