package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// cancelLayer cancels the context once the writer has read its first bytes:
// a signal arriving in the middle of a blob write.
type cancelLayer struct {
	v1.Layer
	cancel func()
}

func (l *cancelLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	return &cancelReader{ReadCloser: rc, cancel: l.cancel}, err
}

type cancelReader struct {
	io.ReadCloser
	cancel func()
}

func (r *cancelReader) Read(p []byte) (int, error) {
	if len(p) > 1024 {
		p = p[:1024]
	}
	n, err := r.ReadCloser.Read(p)
	r.cancel()
	return n, err
}

func cancellingIndex(t *testing.T, cancel func()) v1.ImageIndex {
	t.Helper()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	l := &cancelLayer{Layer: static.NewLayer(big, types.OCILayer), cancel: cancel}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), l)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, _ = mutate.ConfigFile(img, cf)
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
}

func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if atomicdir.IsTemp(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// A signal in the middle of writing oci:DIR stops the write, removes the
// temporary directory and leaves the previous layout whole.
func TestLayoutStopsWhenCancelledMidWrite(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "oci")
	old := twoPlatformIndex(t)
	if _, err := NewLayout(dir, nil, nil).Publish(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	oldDigest, _ := old.Digest()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := NewLayout(dir, nil, nil).Publish(ctx, cancellingIndex(t, cancel))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled write: %v", err)
	}
	if got := leftovers(t, parent); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
	assertLayoutHolds(t, dir, oldDigest)
}

func TestTarballStopsWhenCancelledMidWrite(t *testing.T) {
	parent := t.TempDir()
	path := filepath.Join(parent, "app.tar")
	amd64 := platform.Platform{OS: "linux", Arch: "amd64"}
	if _, err := NewTarball(path, tags(t, "app:0"), amd64).Publish(context.Background(), twoPlatformIndex(t)); err != nil {
		t.Fatal(err)
	}
	previous, _ := os.ReadFile(path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := NewTarball(path, tags(t, "app:1"), amd64).Publish(ctx, cancellingIndex(t, cancel))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled write: %v", err)
	}
	if got := leftovers(t, parent); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, previous) {
		t.Errorf("previous archive replaced")
	}
}

// What a killed run left (a temp dir of the layout's naming, its process
// gone) is removed by the next run.
func TestLayoutRemovesStaleTempDirs(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "oci")
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(parent, fmt.Sprintf(".oci.muslrust-chef-new-%d-1", dead.Process.Pid), "blobs", "sha256")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLayout(dir, nil, nil).Publish(context.Background(), twoPlatformIndex(t)); err != nil {
		t.Fatal(err)
	}
	if got := leftovers(t, parent); len(got) != 0 {
		t.Errorf("stale temp dirs kept: %v", got)
	}
}

func assertLayoutHolds(t *testing.T, dir string, want v1.Hash) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatalf("previous layout gone: %v", err)
	}
	if !strings.Contains(string(b), want.String()) {
		t.Errorf("layout no longer holds %s: %s", want, b)
	}
}
