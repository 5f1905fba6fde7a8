package chef

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

// generateWorkspace writes a workspace of n members, each a lib with a bin,
// a test and a build script, depending on the previous member by path and
// on one external crate, plus a consistent Cargo.lock.
func generateWorkspace(tb testing.TB, n int) string {
	dir := tb.TempDir()
	writeFile(tb, filepath.Join(dir, "Cargo.toml"), "[workspace]\nresolver = \"2\"\nmembers = [\"crates/*\"]\n\n[workspace.package]\nversion = \"1.0.0\"\nedition = \"2021\"\n\n[workspace.dependencies]\nitoa = \"1\"\n")
	var lock strings.Builder
	lock.WriteString("version = 3\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"1aab8fc367588b89dcee83ab0fd66b72b50b72fa1904d7095045ace2b0c81c35\"\n")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("m%03d", i)
		deps := "itoa = { workspace = true }\n"
		lockDeps := "dependencies = [\n \"itoa\",\n"
		if i > 0 {
			prev := fmt.Sprintf("m%03d", i-1)
			deps += fmt.Sprintf("%s = { path = \"../%s\", version = \"1\" }\n", prev, prev)
			lockDeps += fmt.Sprintf(" \"%s\",\n", prev)
		}
		d := filepath.Join(dir, "crates", name)
		writeFile(tb, filepath.Join(d, "Cargo.toml"), fmt.Sprintf("[package]\nname = %q\nversion.workspace = true\nedition.workspace = true\n\n[dependencies]\n%s\n[lints.rust]\nunsafe_code = \"forbid\"\n", name, deps))
		writeFile(tb, filepath.Join(d, "src/lib.rs"), "")
		writeFile(tb, filepath.Join(d, "src/main.rs"), "fn main() {}\n")
		writeFile(tb, filepath.Join(d, "tests/it.rs"), "")
		writeFile(tb, filepath.Join(d, "build.rs"), "fn main() {}\n")
		fmt.Fprintf(&lock, "\n[[package]]\nname = %q\nversion = \"1.0.0\"\n%s]\n", name, lockDeps)
	}
	writeFile(tb, filepath.Join(dir, "Cargo.lock"), lock.String())
	return dir
}

// BenchmarkPlan200 plans a 200-member workspace (target: under 100 ms) and
// reports beside it how long `cargo metadata --no-deps` takes on it.
func BenchmarkPlan200(b *testing.B) {
	ws := generateWorkspace(b, 200)
	if p := mustPlan(b, Options{Workspace: ws}); len(p.Packages) != 200 {
		b.Fatalf("planned %d packages, want 200", len(p.Packages))
	}
	cargoBin := testinfra.Tool(b, "cargo")
	metadata := time.Duration(1<<63 - 1)
	for i := 0; i < 3; i++ {
		cmd := exec.Command(cargoBin, "metadata", "--no-deps", "--offline", "--format-version=1")
		cmd.Dir = ws
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("cargo metadata: %v\n%.2000s", err, out)
		}
		if d := time.Since(start); d < metadata {
			metadata = d
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := NewPlan(Options{Workspace: ws}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	plan := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(plan.Microseconds())/1000, "plan-ms")
	b.ReportMetric(float64(metadata.Microseconds())/1000, "cargo-metadata-ms")
	b.ReportMetric(float64(plan)/float64(metadata), "plan/metadata")
	if plan > 100*time.Millisecond {
		b.Errorf("planning 200 members took %v, target is under 100ms", plan)
	}
}
