package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// rust:slim without -bin after rust:build: the records beside the binary
// and the build step's dot directory are not binaries.
func TestInferBinSkipsRecords(t *testing.T) {
	dist := t.TempDir()
	ps := []platform.Platform{amd64(), arm64()}
	write := func(names ...string) {
		for _, p := range ps {
			for _, n := range names {
				path := filepath.Join(dist, p.DistDir(), n)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	write("app", "app.cdx.json", "app.spdx.json", "app.provenance.json", ".muslrust-chef/metadata.json", ".muslrust-chef/Cargo.lock")
	if bin, err := InferBin(dist, ps); err != nil || bin != "app" {
		t.Fatalf("InferBin = %q, %v; want app", bin, err)
	}
	// A record file without its binary is a file like any other.
	write("tool.cdx.json")
	if _, err := InferBin(dist, ps); err == nil || !strings.Contains(err.Error(), "app, tool.cdx.json") {
		t.Fatalf("InferBin with a stray record: %v", err)
	}
	write("tool", "tool.provenance.json")
	if _, err := InferBin(dist, ps); err == nil || !strings.Contains(err.Error(), "several binaries") || !strings.Contains(err.Error(), "(app, tool)") {
		t.Fatalf("InferBin with two binaries: %v", err)
	}
}

// The subject is the repository as written: no tag, no digest, no
// default registry added; the binary's name without an image.
func TestSubjectName(t *testing.T) {
	for image, want := range map[string]string{
		"":                                 "app",
		"app":                              "app",
		"app:1.2":                          "app",
		"127.0.0.1:5123/team/app":          "127.0.0.1:5123/team/app",
		"127.0.0.1:5123/team/app:v1":       "127.0.0.1:5123/team/app",
		"registry.example/app@sha256:0123": "registry.example/app",
	} {
		if got := subjectName(image, "app"); got != want {
			t.Errorf("subjectName(%q) = %q, want %q", image, got, want)
		}
	}
}
