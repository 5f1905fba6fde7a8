package standin

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// writeBinLayer puts each binary at /usr/bin/<name>, executable, with the
// fixed mtime, and leaves no temporary file beside the layer.
func TestWriteBinLayer(t *testing.T) {
	dir := t.TempDir()
	for n, body := range map[string]string{"buildkitd": "daemon", "buildctl": "client!"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	layer := filepath.Join(t.TempDir(), "layer.tar.gz")
	if err := writeBinLayer(layer, dir, []string{"buildkitd", "buildctl"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(layer)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	got := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if h.Mode != 0o755 || h.ModTime.Unix() != 0 {
			t.Errorf("%s: mode %o mtime %v", h.Name, h.Mode, h.ModTime)
		}
		got[h.Name] = string(b)
	}
	if len(got) != 2 || got["usr/bin/buildkitd"] != "daemon" || got["usr/bin/buildctl"] != "client!" {
		t.Fatalf("layer holds %v", got)
	}
	if _, err := os.Stat(layer + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
	// A missing binary fails the layer and leaves neither file.
	bad := filepath.Join(t.TempDir(), "bad.tar.gz")
	if err := writeBinLayer(bad, dir, []string{"nope"}); err == nil {
		t.Fatal("a missing binary was accepted")
	}
	for _, p := range []string{bad, bad + ".tmp"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s after a failure: %v", p, err)
		}
	}
}
