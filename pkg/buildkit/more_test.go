package buildkit

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	dockerclient "github.com/moby/moby/client"

	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

type closeBuffer struct {
	bytes.Buffer
	closed bool
}

func (c *closeBuffer) Close() error { c.closed = true; return nil }

func TestArchiveAndOCILayout(t *testing.T) {
	b := connectShared(t)
	ctxDir := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY id /id\n", "id": uniq()})
	var buf closeBuffer
	layoutDir := filepath.Join(t.TempDir(), "layout")
	_, err := b.Solve(context.Background(), Request{
		ContextDir: ctxDir,
		Platforms:  []string{"linux/arm64"},
		Archive:    &ArchiveOutput{Format: "docker", Names: []string{"muslrust-chef-test/archive:x"}, Writer: &buf},
		OCILayout:  &OCILayoutOutput{Dir: layoutDir, Names: []string{"muslrust-chef-test/layout:x"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !buf.closed {
		t.Error("archive writer not closed")
	}
	tr := tar.NewReader(&buf.Buffer)
	found := false
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Name == "manifest.json" {
			data, _ := io.ReadAll(tr)
			found = strings.Contains(string(data), "muslrust-chef-test/archive:x")
		}
	}
	if !found {
		t.Error("docker archive has no manifest.json naming the image")
	}
	p, err := layout.FromPath(layoutDir)
	if err != nil {
		t.Fatalf("OCI layout: %v", err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) == 0 {
		t.Fatalf("OCI layout index empty: %v", err)
	}
}

func TestBuildFailureIsOneLine(t *testing.T) {
	base := testimages.Busybox(t)
	b := connectShared(t)
	ctxDir := writeFiles(t, map[string]string{
		"Dockerfile": "ARG BASE\nFROM ${BASE}\nRUN echo " + uniq() + " && echo 'to stderr' >&2 && exit 3\n",
	})
	_, err := b.Solve(context.Background(), Request{ContextDir: ctxDir, Platforms: []string{"linux/amd64"}, BuildArgs: map[string]string{"BASE": base}})
	assertOneLine(t, err)
	if !strings.Contains(err.Error(), "exit code: 3") || !strings.Contains(err.Error(), "build failed on BuildKit at") {
		t.Errorf("unexpected: %v", err)
	}
	t.Log(err)

	_, err = b.Solve(context.Background(), Request{ContextDir: t.TempDir()})
	assertOneLine(t, err)
	if !strings.Contains(err.Error(), "Dockerfile") {
		t.Errorf("missing Dockerfile: %v", err)
	}
	_, err = b.Solve(context.Background(), Request{ContextDir: "/nonexistent"})
	assertOneLine(t, err)
}

func TestNoBuildKitAnywhere(t *testing.T) {
	_, err := Connect(context.Background(), WithDockerConfigDir(t.TempDir()), WithDockerHost("unix:///nonexistent/docker.sock"))
	assertOneLine(t, err)
	for _, want := range []string{"no BuildKit found", "unix:///nonexistent/docker.sock", HostEnv + "="} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	t.Log(err)
}

// progressEnv is the variable pkg/config reads the progress mode from.
const progressEnv = "BUILDKIT_PROGRESS"

func TestProgressModes(t *testing.T) {
	b := connectShared(t)
	ctxDir := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY id /id\n", "id": uniq()})

	var out testinfra.SyncBuffer
	bb, err := Connect(context.Background(), WithHost(b.Endpoint().Address), WithProgressMode("rawjson", progressEnv), WithProgress(&out, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer bb.Close()
	if _, err := bb.Solve(context.Background(), Request{ContextDir: ctxDir}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.TrimSpace(out.String()), "{") {
		t.Errorf("BUILDKIT_PROGRESS=rawjson not honoured: %.200q", out.String())
	}

	// auto on a non-terminal is plain.
	var plain testinfra.SyncBuffer
	bp, err := Connect(context.Background(), WithHost(b.Endpoint().Address), WithProgress(&plain, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer bp.Close()
	if _, err := bp.Solve(context.Background(), Request{ContextDir: ctxDir}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plain.String(), "#1 ") {
		t.Errorf("auto mode on a pipe is not plain: %.200q", plain.String())
	}

	bf, err := Connect(context.Background(), WithHost(b.Endpoint().Address), WithProgress(&plain, ""), WithProgressMode("fancy", progressEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	_, err = bf.Solve(context.Background(), Request{ContextDir: ctxDir})
	assertOneLine(t, err)
	if !strings.Contains(err.Error(), progressEnv+`="fancy"`) {
		t.Errorf("unexpected: %v", err)
	}
}

// On the Docker daemon's builder (classic store) an image output is stored
// in the daemon through its "moby" exporter.
func TestDockerDaemonImageOutput(t *testing.T) {
	dockerHost := testinfra.ClassicStoreDockerd(t)
	b, err := Connect(context.Background(), WithDockerConfigDir(t.TempDir()), WithDockerHost(dockerHost), WithNeeds(Needs{}),
		WithProgress(testinfra.ProgressLog(t), "plain"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Endpoint().Caps.ImageExporter {
		t.Fatalf("a classic-store Docker daemon was probed with the image exporter: %+v", b.Endpoint().Caps)
	}
	ctxDir := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY id /id\n", "id": uniq()})
	ref := "muslrust-chef-test/buildkit-daemon:" + uniq()
	if _, err := b.Solve(context.Background(), Request{ContextDir: ctxDir, Image: &ImageOutput{Names: []string{ref}}}); err != nil {
		t.Fatal(err)
	}
	cli, err := dockerclient.New(dockerclient.WithHost(dockerHost))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(context.Background(), ref); err != nil {
		t.Errorf("image %s not in the daemon: %v", ref, err)
	}
	cli.ImageRemove(context.Background(), ref, dockerclient.ImageRemoveOptions{})
}
