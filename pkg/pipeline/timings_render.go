package pipeline

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// Line is the one-line summary the run logs at its end, e.g.
//
//	timings: plan 0.02s, context 41 files 88.0 kB 0.1s, builder reused, cook reused, build 3.9s, export 0.1s, cache import 0.4s export 0s, verify 0.01s, slim 0.09s, push 0.5s, total 5.3s
//
// Stages a failed run did not reach are left out, and it ends with the
// stage it failed in.
func (t Timings) Line() string {
	var parts []string
	add := func(format string, a ...any) { parts = append(parts, fmt.Sprintf(format, a...)) }
	if t.reachedStage(stagePlan) {
		add("plan %s", secs(t.Plan))
	}
	if t.reachedStage(stageSolve) && t.solved {
		add("context %d files %s %s", t.Context.Files, humanBytes(t.Context.Bytes), secs(t.Context.Upload))
		if s := t.Builder.text("builder", t.builderVerb()); s != "" {
			parts = append(parts, s)
		}
		if s := t.Cook.text("cook", "ran"); s != "" {
			parts = append(parts, s)
		}
		if t.What == "build" {
			if s := t.Build.text("build", "ran"); s != "" {
				parts = append(parts, s)
			}
			add("export %s", secs(t.Export))
		}
		add("cache import %s export %s", secs(t.CacheImport), secs(t.CacheExport))
	}
	for _, s := range []struct {
		name string
		d    time.Duration
	}{{stageVerify, t.Verify}, {stageSlim, t.Slim}, {stageRecords, t.Records}, {stagePush, t.Push}} {
		if t.reachedStage(s.name) {
			add("%s %s", s.name, secs(s.d))
		}
	}
	add("total %s", secs(t.Total))
	line := "timings: " + strings.Join(parts, ", ")
	if t.Failed != "" {
		line += " (failed in " + t.Failed + ")"
	}
	return line
}

// builderVerb says what happened to a builder that was not reused: the
// kit's own was built, a published one's image was resolved or pulled.
func (t SolveTimings) builderVerb() string {
	if t.published {
		return "image"
	}
	return "built"
}

func (s Step) text(name, ran string) string {
	switch {
	case !s.Seen:
		return ""
	case s.Reused:
		return name + " reused"
	}
	return name + " " + ran + " " + secs(s.Took)
}

// secs is d in seconds, rounded to 10 ms: "3.9s", "0.02s", "0s".
func secs(d time.Duration) string {
	return strconv.FormatFloat(seconds(d, 2), 'f', -1, 64) + "s"
}

// seconds is d in seconds rounded to n decimals.
func seconds(d time.Duration, n int) float64 {
	p := math.Pow10(n)
	return math.Round(d.Seconds()*p) / p
}

// timingsJSON is the JSON form of Timings (-timings=FILE): seconds as
// numbers (millisecond precision), null for a part the run did not reach.
type timingsJSON struct {
	What          string     `json:"what"`
	Failed        string     `json:"failed,omitempty"`
	Plan          *float64   `json:"plan_s"`
	ContextFiles  *int       `json:"context_files"`
	ContextBytes  *int64     `json:"context_bytes"`
	ContextUpload *float64   `json:"context_upload_s"`
	BuilderReused *bool      `json:"builder_reused"`
	Builder       *float64   `json:"builder_s"`
	CookReused    *bool      `json:"cook_reused"`
	Cook          *float64   `json:"cook_s"`
	BuildReused   *bool      `json:"build_reused"`
	Build         *float64   `json:"build_s"`
	Export        *float64   `json:"export_s"`
	CacheImport   *float64   `json:"cache_import_s"`
	CacheExport   *float64   `json:"cache_export_s"`
	Verify        *float64   `json:"verify_s"`
	Slim          *float64   `json:"slim_s"`
	Records       *float64   `json:"records_s"`
	Push          *float64   `json:"push_s"`
	Total         float64    `json:"total_s"`
	Nodes         []nodeJSON `json:"nodes,omitempty"`
}

type nodeJSON struct {
	Node          string   `json:"node"`
	Platforms     []string `json:"platforms"`
	ContextUpload float64  `json:"context_upload_s"`
	BuilderReused *bool    `json:"builder_reused"`
	CookReused    *bool    `json:"cook_reused"`
	Cook          float64  `json:"cook_s"`
	BuildReused   *bool    `json:"build_reused"`
	Build         float64  `json:"build_s"`
	Export        float64  `json:"export_s"`
	CacheImport   float64  `json:"cache_import_s"`
	CacheExport   float64  `json:"cache_export_s"`
}

// MarshalJSON writes the JSON of -timings=FILE (README "Timings").
func (t Timings) MarshalJSON() ([]byte, error) {
	s := func(d time.Duration) *float64 { v := seconds(d, 3); return &v }
	j := timingsJSON{What: t.What, Failed: t.Failed, Total: seconds(t.Total, 3)}
	if t.reachedStage(stagePlan) {
		j.Plan = s(t.Plan)
	}
	if t.reachedStage(stageSolve) && t.solved {
		files, bytes := t.Context.Files, t.Context.Bytes
		j.ContextFiles, j.ContextBytes, j.ContextUpload = &files, &bytes, s(t.Context.Upload)
		j.BuilderReused, j.Builder = stepJSON(t.Builder)
		j.CookReused, j.Cook = stepJSON(t.Cook)
		if t.What == "build" {
			j.BuildReused, j.Build = stepJSON(t.Build)
			j.Export = s(t.Export)
		}
		j.CacheImport, j.CacheExport = s(t.CacheImport), s(t.CacheExport)
	}
	if t.reachedStage(stageVerify) {
		j.Verify = s(t.Verify)
	}
	if t.reachedStage(stageSlim) {
		j.Slim = s(t.Slim)
	}
	if t.reachedStage(stageRecords) {
		j.Records = s(t.Records)
	}
	if t.reachedStage(stagePush) {
		j.Push = s(t.Push)
	}
	for _, n := range t.Nodes {
		nj := nodeJSON{Node: n.Node, Platforms: n.Platforms, ContextUpload: seconds(n.Context.Upload, 3),
			Cook: seconds(n.Cook.Took, 3), Build: seconds(n.Build.Took, 3), Export: seconds(n.Export, 3),
			CacheImport: seconds(n.CacheImport, 3), CacheExport: seconds(n.CacheExport, 3)}
		nj.BuilderReused, _ = stepJSON(n.Builder)
		nj.CookReused, _ = stepJSON(n.Cook)
		nj.BuildReused, _ = stepJSON(n.Build)
		j.Nodes = append(j.Nodes, nj)
	}
	return json.Marshal(j)
}

func stepJSON(s Step) (*bool, *float64) {
	if !s.Seen {
		return nil, nil
	}
	reused, took := s.Reused, seconds(s.Took, 3)
	return &reused, &took
}

// Markdown is the timings as a titled table, one row per part the run
// reached: rust:cook's step summary (a build's page, StepSummary, holds
// the same table).
func (t Timings) Markdown() string {
	title := "muslrust-chef " + t.What
	if t.Failed != "" {
		title += " (failed in " + t.Failed + ")"
	}
	return "### " + title + " timings\n\n" + t.markdownTable()
}

// markdownTable is the table of Markdown.
func (t Timings) markdownTable() string {
	var b strings.Builder
	b.WriteString("| stage | time | |\n|---|---:|---|\n")
	row := func(stage string, d time.Duration, note string) {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", stage, secs(d), note)
	}
	step := func(name string, s Step, ran string) {
		switch {
		case !s.Seen:
		case s.Reused:
			row(name, 0, "reused")
		default:
			row(name, s.Took, ran)
		}
	}
	if t.reachedStage(stagePlan) {
		row("plan", t.Plan, "")
	}
	if t.reachedStage(stageSolve) && t.solved {
		row("context upload", t.Context.Upload, fmt.Sprintf("%d files, %s", t.Context.Files, humanBytes(t.Context.Bytes)))
		step("builder", t.Builder, t.builderVerb())
		step("cook", t.Cook, "ran")
		if t.What == "build" {
			step("build", t.Build, "ran")
			row("export", t.Export, "")
		}
		row("cache import", t.CacheImport, "")
		row("cache export", t.CacheExport, "")
	}
	for _, s := range []struct {
		name string
		d    time.Duration
	}{{stageVerify, t.Verify}, {stageSlim, t.Slim}, {stageRecords, t.Records}, {stagePush, t.Push}} {
		if t.reachedStage(s.name) {
			row(s.name, s.d, "")
		}
	}
	fmt.Fprintf(&b, "| **total** | **%s** | |\n", secs(t.Total))
	return b.String()
}

// WriteFile writes the timings' JSON to path (-timings=FILE) all or
// nothing (internal/atomicdir). An existing file is replaced only when it
// is a timings file (a JSON object with "what" and "total_s"), so a
// mistyped path does not overwrite a user's file.
func (t Timings) WriteFile(path string) error {
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	opts := atomicdir.FileOptions{
		Fix:   option.Errorf("set %s / %s to a new file or a timings file written before", option.Flag(option.Timings), option.Env(option.Timings)),
		Owned: isTimingsFile,
	}
	err = atomicdir.WriteFile(path, 0o644, opts, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("timings: %w", err)
	}
	return nil
}

// isTimingsFile says whether path holds what WriteFile writes.
func isTimingsFile(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var j map[string]json.RawMessage
	if json.Unmarshal(data, &j) != nil {
		return false
	}
	_, what := j["what"]
	_, total := j["total_s"]
	return what && total
}
