package ghoutput_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/ghoutput"
)

func TestAppendsAndRefusesLineBreaks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	if err := ghoutput.Write(path, [2]string{"digest", "sha256:abc"}); err != nil {
		t.Fatal(err)
	}
	if err := ghoutput.Write(path, [2]string{"image", "r/app@sha256:abc"}); err != nil {
		t.Fatal(err)
	}
	if err := ghoutput.Write(path, [2]string{"platform", "linux/amd64"}, [2]string{"bad", "a\nb"}); err == nil {
		t.Fatal("a value with a line break was accepted")
	}
	data, _ := os.ReadFile(path)
	if string(data) != "digest=sha256:abc\nimage=r/app@sha256:abc\n" {
		t.Fatalf("GITHUB_OUTPUT holds %q", data)
	}
}

// Outside Actions nothing is written, not even to a file named "".
func TestNoopOutsideActions(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := ghoutput.Write("", [2]string{"digest", "x"}); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("files written outside Actions: %v", entries)
	}
}

func TestUnwritableOutputIsAnError(t *testing.T) {
	dir := t.TempDir()
	err := ghoutput.Write(dir, [2]string{"digest", "x"}) // a directory
	if err == nil || !strings.Contains(config.Explain(err), "cannot write GITHUB_OUTPUT "+dir) {
		t.Fatalf("GITHUB_OUTPUT naming a directory: %v", err)
	}
}

// Each block is appended whole, kept apart from the next by a blank line;
// outside Actions nothing is written.
func TestAppendSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.md")
	os.WriteFile(path, []byte("# earlier step\n\n"), 0o644)
	if err := ghoutput.AppendSummary(path, "| a | b |\n|---|---|\n| 1 | 2 |\n"); err != nil {
		t.Fatal(err)
	}
	if err := ghoutput.AppendSummary(path, "### next\n\n\n"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if want := "# earlier step\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n### next\n\n"; string(data) != want {
		t.Fatalf("GITHUB_STEP_SUMMARY holds %q, want %q", data, want)
	}

	dir := t.TempDir()
	t.Chdir(dir)
	if err := ghoutput.AppendSummary("", "| a |\n"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("files written outside Actions: %v", entries)
	}
	err := ghoutput.AppendSummary(dir, "| a |\n") // a directory
	if err == nil || !strings.Contains(config.Explain(err), "cannot write GITHUB_STEP_SUMMARY "+dir) {
		t.Fatalf("GITHUB_STEP_SUMMARY naming a directory: %v", err)
	}
}
