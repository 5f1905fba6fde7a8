package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Spread is the min, median and max of a cell's runs.
type Spread struct {
	Min, Median, Max float64
	N                int
}

// Summarize returns the spread of xs (zero N when xs is empty). The median
// of an even count is the mean of the two middle values.
func Summarize(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Min: s[0], Median: m, Max: s[len(s)-1], N: len(s)}
}

// Row is one line of the table: a measure against its anchor, measured in
// the same run, with its goal on the ratio (or, for an absolute row, on
// the measure itself).
type Row struct {
	ID      string
	Measure string
	Anchor  string // empty for an absolute row
	// Goal is the ratio (or, when Absolute, the value in Unit) the measure
	// must not exceed; 0 means an information row without a goal.
	Goal     float64
	Absolute bool
	// Unit is "s" or "ms".
	Unit string
	// PerWorkspace is false for rows whose measure does not depend on the
	// benchmark's workspaces (slim, plan): one column.
	PerWorkspace bool
	cells        map[Size]*cell
	// NotAvailable, when set, is why the row could not be measured.
	NotAvailable string
}

type cell struct {
	kit, anchor, ratio []float64
}

// Table collects the benchmark's runs and prints them.
type Table struct {
	Runs  int
	Sizes []Size
	Note  string // printed under the title (machine, load, ...)
	rows  []*Row
	byID  map[string]*Row
}

// NewTable is a table over sizes for runs runs with rows in print order.
func NewTable(runs int, sizes []Size, rows ...*Row) *Table {
	t := &Table{Runs: runs, Sizes: sizes, byID: map[string]*Row{}}
	for _, r := range rows {
		r.cells = map[Size]*cell{}
		t.rows = append(t.rows, r)
		t.byID[r.ID] = r
	}
	return t
}

// Row returns the row with id (nil when there is none).
func (t *Table) Row(id string) *Row { return t.byID[id] }

// Add records one run of row id on size z: the measure and its anchor,
// measured in the same run (anchor 0 for an absolute row). The ratio is
// computed per run, so drift between runs cancels.
func (t *Table) Add(id string, z Size, measure, anchor time.Duration) {
	r := t.byID[id]
	if r == nil {
		panic("bench: no row " + id)
	}
	c := r.cells[z]
	if c == nil {
		c = &cell{}
		r.cells[z] = c
	}
	c.kit = append(c.kit, r.value(measure))
	if !r.Absolute {
		c.anchor = append(c.anchor, r.value(anchor))
		c.ratio = append(c.ratio, measure.Seconds()/anchor.Seconds())
	}
}

// Unavailable marks row id as not measured, with the reason.
func (t *Table) Unavailable(id, why string) {
	if r := t.byID[id]; r != nil {
		r.NotAvailable = why
	}
}

func (r *Row) value(d time.Duration) float64 {
	if r.Unit == "ms" {
		return float64(d.Microseconds()) / 1000
	}
	return d.Seconds()
}

// Met reports whether the row's median on size z meets its goal, and
// whether the row has a goal and a measurement there at all.
func (r *Row) Met(z Size) (met, known bool) {
	c := r.cells[z]
	if c == nil || r.Goal == 0 || r.NotAvailable != "" {
		return false, false
	}
	xs := c.ratio
	if r.Absolute {
		xs = c.kit
	}
	return Summarize(xs).Median <= r.Goal, true
}

func (t *Table) columns(r *Row) []Size {
	if r.PerWorkspace {
		return t.Sizes
	}
	return t.Sizes[:1]
}

func (r *Row) goalText() string {
	switch {
	case r.Goal == 0:
		return "info"
	case r.Absolute:
		return fmt.Sprintf("< %g %s", r.Goal, r.Unit)
	default:
		return fmt.Sprintf("<= %g", r.Goal)
	}
}

func spreadText(s Spread, format string) string {
	if s.N == 0 {
		return "-"
	}
	if s.N == 1 {
		return fmt.Sprintf(format, s.Median)
	}
	return fmt.Sprintf(format+" ("+format+"-"+format+")", s.Median, s.Min, s.Max)
}

// cellText is a cell in one line: the ratio (median, min-max) then the
// medians of the measure and its anchor.
func (t *Table) cellText(r *Row, z Size) string {
	if r.NotAvailable != "" {
		return "not available"
	}
	c := r.cells[z]
	if c == nil {
		return "-"
	}
	format := "%.2f"
	if r.Unit == "ms" {
		format = "%.1f"
	}
	if r.Absolute {
		return spreadText(Summarize(c.kit), format) + " " + r.Unit
	}
	k, a := Summarize(c.kit), Summarize(c.anchor)
	return fmt.Sprintf("%s  [%s / %s %s]", spreadText(Summarize(c.ratio), "%.3f"), fmt.Sprintf(format, k.Median), fmt.Sprintf(format, a.Median), r.Unit)
}

// growth is how the cost grows from the first to the last size: the
// ratio of the medians of the measure (and of its anchor).
func (t *Table) growth(r *Row) string {
	if !r.PerWorkspace || len(t.Sizes) < 2 || r.NotAvailable != "" {
		return ""
	}
	first, last := r.cells[t.Sizes[0]], r.cells[t.Sizes[len(t.Sizes)-1]]
	if first == nil || last == nil {
		return "-"
	}
	g := fmt.Sprintf("x%.2f", Summarize(last.kit).Median/Summarize(first.kit).Median)
	if !r.Absolute {
		g += fmt.Sprintf(" (anchor x%.2f)", Summarize(last.anchor).Median/Summarize(first.anchor).Median)
	}
	return g
}

func (t *Table) header() []string {
	h := []string{"#", "measure", "anchor (same run)", "goal"}
	for _, z := range t.Sizes {
		h = append(h, string(z))
	}
	if len(t.Sizes) > 1 {
		h = append(h, fmt.Sprintf("%s/%s", t.Sizes[len(t.Sizes)-1], t.Sizes[0]))
	}
	return append(h, "met")
}

func (t *Table) lines() [][]string {
	var out [][]string
	for _, r := range t.rows {
		l := []string{r.ID, r.Measure, r.Anchor, r.goalText()}
		cols := t.columns(r)
		for i, z := range t.Sizes {
			switch {
			case i < len(cols):
				l = append(l, t.cellText(r, z))
			default:
				l = append(l, "(same)")
			}
		}
		if len(t.Sizes) > 1 {
			l = append(l, t.growth(r))
		}
		var met []string
		for _, z := range cols {
			if ok, known := r.Met(z); known {
				if ok {
					met = append(met, "yes")
				} else {
					met = append(met, "NO")
				}
			}
		}
		l = append(l, strings.Join(met, "/"))
		out = append(out, l)
	}
	return out
}

func (t *Table) runsText() string {
	if t.Runs == 1 {
		return "1 run, no spread"
	}
	return fmt.Sprintf("median (min-max) of %d runs", t.Runs)
}

// Text prints the table in aligned columns, then why rows are missing.
func (t *Table) Text(w io.Writer) {
	fmt.Fprintf(w, "muslrust-chef benchmark: %s; ratio [measure / anchor medians]", t.runsText())
	if t.Note != "" {
		fmt.Fprintf(w, "; %s", t.Note)
	}
	fmt.Fprintln(w)
	rows := append([][]string{t.header()}, t.lines()...)
	width := make([]int, len(rows[0]))
	for _, l := range rows {
		for i, c := range l {
			if n := len([]rune(c)); n > width[i] {
				width[i] = n
			}
		}
	}
	for _, l := range rows {
		var b strings.Builder
		for i, c := range l {
			b.WriteString(c)
			if i < len(l)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-len([]rune(c))+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	t.notes(w, "")
}

// Markdown writes the table as GitHub Markdown (for the closing note).
func (t *Table) Markdown(w io.Writer) {
	fmt.Fprintf(w, "muslrust-chef benchmark: %s; ratio [measure / anchor medians]", t.runsText())
	if t.Note != "" {
		fmt.Fprintf(w, "; %s", t.Note)
	}
	fmt.Fprintf(w, "\n\n")
	h := t.header()
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(h, " | "), strings.Repeat("---|", len(h)))
	for _, l := range t.lines() {
		for i := range l {
			l[i] = strings.ReplaceAll(l[i], "|", "\\|")
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(l, " | "))
	}
	fmt.Fprintln(w)
	t.notes(w, "- ")
}

func (t *Table) notes(w io.Writer, bullet string) {
	for _, r := range t.rows {
		if r.NotAvailable != "" {
			fmt.Fprintf(w, "%srow %s not available: %s\n", bullet, r.ID, r.NotAvailable)
		}
	}
}
