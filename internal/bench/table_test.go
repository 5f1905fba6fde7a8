package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
)

func TestSummarize(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want Spread
	}{
		{nil, Spread{}},
		{[]float64{2}, Spread{2, 2, 2, 1}},
		{[]float64{3, 1, 2}, Spread{1, 2, 3, 3}},
		{[]float64{4, 1, 3, 2}, Spread{1, 2.5, 4, 4}},
	} {
		if got := Summarize(c.in); got != c.want {
			t.Errorf("Summarize(%v) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestParseSizes(t *testing.T) {
	if got, err := ParseSizes(""); err != nil || len(got) != 2 {
		t.Errorf("empty: %v %v", got, err)
	}
	if got, err := ParseSizes(" large "); err != nil || len(got) != 1 || got[0] != Large {
		t.Errorf("large: %v %v", got, err)
	}
	if _, err := ParseSizes("small,huge"); err == nil || !strings.Contains(err.Error(), `"huge"`) {
		t.Errorf("huge: %v", err)
	}
}

// The ratio is computed per run (not as a ratio of medians), the growth
// column divides the medians of the last size by the first, absolute rows
// check the goal on the value, and an unavailable row says why.
func TestTable(t *testing.T) {
	tab := NewTable(3, Sizes,
		&Row{ID: "1", Measure: "kit", Anchor: "plain", Goal: 1.05, Unit: "s", PerWorkspace: true},
		&Row{ID: "6", Measure: "plan", Goal: 30, Absolute: true, Unit: "ms"},
		&Row{ID: "7", Measure: "split", Anchor: "one", Goal: 1, Unit: "s", PerWorkspace: true},
	)
	s := time.Second
	tab.Add("1", Small, 10*s, 10*s)
	tab.Add("1", Small, 30*s, 20*s)
	tab.Add("1", Small, 12*s, 10*s)
	tab.Add("1", Large, 40*s, 40*s)
	tab.Add("6", Small, 20*time.Millisecond, 0)
	tab.Unavailable("7", "no second node")
	var text bytes.Buffer
	tab.Text(&text)
	out := text.String()
	for _, want := range []string{
		"median (min-max) of 3 runs",
		"1.200 (1.000-1.500)  [12.00 / 10.00 s]", // ratios 1.0, 1.5, 1.2
		"x3.33 (anchor x4.00)",                   // 40/12, 40/10
		"20.0 ms",
		"row 7 not available: no second node",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if met, known := tab.Row("1").Met(Small); !known || met {
		t.Errorf("row 1 small: met %t known %t, want a miss (1.2 > 1.05)", met, known)
	}
	if met, known := tab.Row("1").Met(Large); !known || !met {
		t.Errorf("row 1 large: met %t known %t, want met (1.0)", met, known)
	}
	if met, known := tab.Row("6").Met(Small); !known || !met {
		t.Errorf("row 6: met %t known %t, want met (20 < 30 ms)", met, known)
	}
	if _, known := tab.Row("7").Met(Small); known {
		t.Errorf("row 7 is unavailable, its goal cannot be known")
	}
	var md bytes.Buffer
	tab.Markdown(&md)
	if !strings.Contains(md.String(), "| 1 | kit | plain | <= 1.05 |") || !strings.Contains(md.String(), "- row 7 not available: no second node") {
		t.Errorf("markdown:\n%s", md.String())
	}
	one := NewTable(1, []Size{Small}, &Row{ID: "1", Measure: "kit", Anchor: "plain", Goal: 1.05, Unit: "s", PerWorkspace: true})
	one.Add("1", Small, 3*s, 2*s)
	text.Reset()
	one.Text(&text)
	if !strings.Contains(text.String(), "1 run, no spread") || !strings.Contains(text.String(), "1.500  [3.00 / 2.00 s]") {
		t.Errorf("one run:\n%s", text.String())
	}
}

// The generated workspaces plan: glob members, the path dependency
// outside the workspace, two binaries; Edit changes app's source once per
// call.
func TestGenerate(t *testing.T) {
	for _, z := range Sizes {
		w, err := Generate(t.TempDir(), z)
		if err != nil {
			t.Fatal(err)
		}
		// chef needs a Cargo.lock; Lock writes the real one with the
		// builder's cargo, this one only lists the local crates.
		lock := "version = 3\n"
		for _, n := range []string{"app", "cbits", "helper", "model", "tool", "util"} {
			lock += "\n[[package]]\nname = \"" + n + "\"\nversion = \"0.3.1\"\n"
		}
		if err := os.WriteFile(filepath.Join(w.Dir, "Cargo.lock"), []byte(lock), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := chef.NewPlan(chef.Options{Workspace: w.Dir, Bin: w.Bin})
		if err != nil {
			t.Fatalf("%s: %v", z, err)
		}
		if len(p.OutsideDirs) != 1 || p.OutsideDirs[0] != "../shared/helper" {
			t.Errorf("%s: outside dirs %v, want ../shared/helper", z, p.OutsideDirs)
		}
		var names []string
		for _, pkg := range p.Packages {
			names = append(names, pkg.Name)
		}
		if got := strings.Join(names, ","); !strings.Contains(got, "app") || !strings.Contains(got, "helper") || !strings.Contains(got, "cbits") {
			t.Errorf("%s: planned %s", z, got)
		}
		for i := 1; i <= 2; i++ {
			if err := w.Edit(); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(w.EditFile)
			if !strings.Contains(string(b), "bench edit "+string(rune('0'+i))) {
				t.Errorf("edit %d: %s", i, b)
			}
		}
	}
}

func TestGenerateMembers(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateMembers(dir, 20); err != nil {
		t.Fatal(err)
	}
	d, n, err := PlanOnce(dir)
	if err != nil || n != 20 || d <= 0 {
		t.Fatalf("planned %d packages in %s: %v", n, d, err)
	}
}
