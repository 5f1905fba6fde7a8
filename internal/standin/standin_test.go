package standin

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/pkg/builder"
)

// The cross stand-in's amd64 image declares the aarch64 cross toolchain;
// its arm64 image declares nothing to cross to.
func TestCrossImageDeclaresCross(t *testing.T) {
	ref := CrossImage(t)
	idx, im := readIndex(t, ref)
	if len(im.Manifests) != 2 {
		t.Fatalf("cross stand-in has %d images, want amd64 and arm64", len(im.Manifests))
	}
	for _, m := range im.Manifests {
		l := labelsOf(t, idx, m.Digest)
		switch m.Platform.Architecture {
		case "amd64":
			for k, v := range CrossLabels() {
				if l[k] != v {
					t.Errorf("amd64: label %s=%q, want %q", k, l[k], v)
				}
			}
		case "arm64":
			if l[builder.LabelCross] != "" || l[builder.LabelLibc] != "gnu" {
				t.Errorf("arm64: labels %v", l)
			}
		default:
			t.Errorf("unexpected platform %v", m.Platform)
		}
	}
}

// The musl stand-in: an amd64+arm64 index declaring musl and the zig
// wrapper as every triple's toolchain, identically on both platforms.
func TestMuslImageDeclaresZigToolchain(t *testing.T) {
	ref := MuslImage(t)
	idx, im := readIndex(t, ref)
	got := map[string]bool{}
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Platform.OS != "linux" {
			continue // attestations
		}
		got[m.Platform.Architecture] = true
		l := labelsOf(t, idx, m.Digest)
		for k, v := range MuslLabels() {
			if l[k] != v {
				t.Errorf("%s: label %s=%q, want %q", m.Platform.Architecture, k, l[k], v)
			}
		}
	}
	if !got["amd64"] || !got["arm64"] {
		t.Errorf("index platforms %v, want amd64 and arm64", got)
	}
}

// readIndex reads the index ref from the test registry.
func readIndex(t *testing.T, ref string) (v1.ImageIndex, *v1.IndexManifest) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return idx, im
}

// labelsOf is the config labels of the image d in idx.
func labelsOf(t *testing.T, idx v1.ImageIndex, d v1.Hash) map[string]string {
	t.Helper()
	img, err := idx.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.Config.Labels
}
