package publish_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/internal/faultproxy"
	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// The errors that name an option are asserted as users see them: through
// config.Explain, which spells each option as its MUSLRUST_CHEF_ variable
// (pkg/config imports pkg/publish, hence this external test package).

// twoPlatformIndex is a random amd64+arm64 index standing in for slim's output.
func twoPlatformIndex(t testing.TB) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		img, _ = mutate.ConfigFile(img, cf)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	return idx
}

var fastRetry = publish.WithRetryBackoff(remote.Backoff{Duration: 10 * time.Millisecond, Factor: 1, Steps: 4})

// A registry that takes the index PUT and never answers must not hang the
// push: it ends within the request timeout with one line naming the
// registry and the request that stalled.
func TestRegistryStallGivesUpWithinBound(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	stall := &faultproxy.Rule{Method: "PUT", Path: "/manifests/sha256:", Action: faultproxy.Stall, Times: -1}
	px, err := faultproxy.NewHTTP(reg.Host, stall)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	idx := twoPlatformIndex(t)
	d, _ := idx.Digest()
	im, _ := idx.IndexManifest()
	// Only the index PUT stalls: platform manifests go by digest too, so
	// let those through by stalling the index digest alone.
	stall.Path = "/manifests/" + d.String()
	pub, _ := publish.NewRegistry(tags(t, px.Host+"/team/app:1"), fastRetry, publish.WithRequestTimeout(300*time.Millisecond))
	bound := 300 * time.Millisecond
	start := time.Now()
	_, err = pub.Publish(context.Background(), idx)
	took := time.Since(start)
	if err == nil {
		t.Fatal("a stalled index PUT succeeded")
	}
	msg := config.Explain(err)
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "registry "+px.Host+" stopped answering") ||
		!strings.Contains(msg, "manifest upload ("+d.String()+")") || !strings.Contains(msg, "MUSLRUST_CHEF_REGISTRY_TIMEOUT") {
		t.Errorf("error: %s", msg)
	}
	if took > bound+time.Second {
		t.Errorf("gave up after %s, bound %s", took, bound)
	}
	if stall.Hits() != 1 {
		t.Errorf("stalled index PUT tried %d times, want 1: a timed-out request is not retried", stall.Hits())
	}
	// The platform manifests did arrive: only the index is missing.
	for _, m := range im.Manifests {
		ref, _ := name.NewDigest(reg.Host + "/team/app@" + m.Digest.String())
		if _, err := remote.Head(ref); err != nil {
			t.Errorf("platform manifest %s: %v", m.Digest, err)
		}
	}
	t.Logf("stalled index PUT given up after %s (bound %s): %s", took.Round(time.Millisecond), bound, msg)
}

// The push deadline ends a push whose every request is answered too slowly
// for the whole, saying so and naming the knob.
func TestRegistryPushDeadline(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	px, err := faultproxy.NewHTTP(reg.Host, &faultproxy.Rule{Path: "/blobs/", Action: faultproxy.Stall, Times: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	pub, _ := publish.NewRegistry(tags(t, px.Host+"/team/app:1"), fastRetry, publish.WithRequestTimeout(0), publish.WithPushTimeout(400*time.Millisecond))
	start := time.Now()
	_, err = pub.Publish(context.Background(), twoPlatformIndex(t))
	if msg := config.Explain(err); err == nil || !strings.Contains(msg, "did not finish within 400ms") || !strings.Contains(msg, "MUSLRUST_CHEF_PUSH_TIMEOUT") {
		t.Fatalf("push deadline: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("deadline of 400ms took %s", took)
	}
}

func TestTarballWithSeveralPlatformsAndForeignHost(t *testing.T) {
	out := filepath.Join(t.TempDir(), "app.tar")
	_, err := publish.NewTarball(out, tags(t, "team/app:1.0"), platform.Platform{OS: "linux", Arch: "riscv64"}).Publish(context.Background(), twoPlatformIndex(t))
	if err == nil || !strings.Contains(config.Explain(err), "MUSLRUST_CHEF_PLATFORMS") {
		t.Fatalf("ambiguous platform: %v", err)
	}
	if _, statErr := os.Stat(out); statErr == nil {
		t.Fatal("a tarball was written despite the error")
	}
}

func TestLayoutRefusesForeignDirAndUnwritablePath(t *testing.T) {
	foreign := t.TempDir()
	os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644)
	_, err := publish.NewLayout(foreign, nil, nil).Publish(context.Background(), twoPlatformIndex(t))
	want := "output: " + foreign + " is a non-empty directory muslrust-chef did not write (it has no .muslrust-chef file): refusing to replace it; set -output / MUSLRUST_CHEF_OUTPUT to oci:<a new or empty directory>"
	if err == nil || config.Explain(err) != want {
		t.Fatalf("foreign dir: %v\nwant %s", err, want)
	}
	if entries, _ := os.ReadDir(foreign); len(entries) != 1 {
		t.Fatalf("foreign dir changed: %v", entries)
	}
	if data, _ := os.ReadFile(filepath.Join(foreign, "notes.txt")); string(data) != "mine" {
		t.Fatal("user's file was touched")
	}
	// A layout another tool wrote is someone else's too.
	other := t.TempDir()
	if _, err := layout.Write(other, empty.Index); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.NewLayout(other, nil, nil).Publish(context.Background(), twoPlatformIndex(t)); err == nil || !strings.Contains(err.Error(), "muslrust-chef did not write") {
		t.Fatalf("another tool's layout: %v", err)
	}
	file := filepath.Join(t.TempDir(), "plain-file")
	os.WriteFile(file, nil, 0o644)
	_, err = publish.NewLayout(filepath.Join(file, "layout"), nil, nil).Publish(context.Background(), twoPlatformIndex(t))
	if err == nil || !strings.Contains(err.Error(), "choose a writable path") {
		t.Fatalf("unwritable path: %v", err)
	}
}

// tar:FILE replaces an image archive it wrote, never another file: a
// mistyped path is refused in one line and left as it was.
func TestTarballRefusesForeignFile(t *testing.T) {
	parent := t.TempDir()
	path := filepath.Join(parent, "notes.txt")
	if err := os.WriteFile(path, []byte("my notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	amd64 := platform.Platform{OS: "linux", Arch: "amd64"}
	_, err := publish.NewTarball(path, tags(t, "app:1"), amd64).Publish(context.Background(), twoPlatformIndex(t))
	if msg := config.Explain(err); err == nil || !strings.Contains(msg, "notes.txt exists and is not a file muslrust-chef wrote: refusing to replace it; set -output / MUSLRUST_CHEF_OUTPUT to tar:") || strings.Contains(msg, "\n") {
		t.Fatalf("foreign file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "my notes" {
		t.Errorf("foreign file changed: %q", b)
	}
	// The same refusal, before any build (rust:build checks its output first).
	if cerr := publish.CheckOutput(publish.Output{Kind: "tar", Path: path}); cerr == nil || cerr.Error() != err.Error() {
		t.Errorf("publish.CheckOutput: %v, want %v", cerr, err)
	}
	if err := publish.CheckOutput(publish.Output{Kind: "tar", Path: filepath.Join(parent, "new.tar")}); err != nil {
		t.Errorf("publish.CheckOutput of a new file: %v", err)
	}
	if got := leftoversIn(t, parent); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
}

// leftoversIn lists the temporary files a run left in dir.
func leftoversIn(t *testing.T, dir string) []string {
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
