package ghoutput

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAppendsAndRefusesLineBreaks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	t.Setenv("GITHUB_OUTPUT", path)
	if err := Write([2]string{"digest", "sha256:abc"}); err != nil {
		t.Fatal(err)
	}
	if err := Write([2]string{"image", "r/app@sha256:abc"}); err != nil {
		t.Fatal(err)
	}
	if err := Write([2]string{"bad", "a\nb"}); err == nil {
		t.Fatal("a value with a line break was accepted")
	}
	data, _ := os.ReadFile(path)
	if string(data) != "digest=sha256:abc\nimage=r/app@sha256:abc\n" {
		t.Fatalf("GITHUB_OUTPUT holds %q", data)
	}
}

func TestNoopOutsideActions(t *testing.T) {
	t.Setenv("GITHUB_OUTPUT", "")
	if err := Write([2]string{"digest", "x"}); err != nil {
		t.Fatal(err)
	}
}
