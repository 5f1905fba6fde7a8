package standin

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The cross stand-in's amd64 image declares the aarch64 cross toolchain;
// its arm64 image declares nothing to cross to.
func TestCrossImageDeclaresCross(t *testing.T) {
	ref := CrossImage(t)
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
	if len(im.Manifests) != 2 {
		t.Fatalf("cross stand-in has %d images, want amd64 and arm64", len(im.Manifests))
	}
	for _, m := range im.Manifests {
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		l := cf.Config.Labels
		switch m.Platform.Architecture {
		case "amd64":
			for k, v := range CrossLabels() {
				if l[k] != v {
					t.Errorf("amd64: label %s=%q, want %q", k, l[k], v)
				}
			}
		case "arm64":
			if l[LabelCross] != "" || l[LabelLibc] != "gnu" {
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
	got := map[string]bool{}
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Platform.OS != "linux" {
			continue // attestations
		}
		got[m.Platform.Architecture] = true
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range MuslLabels() {
			if cf.Config.Labels[k] != v {
				t.Errorf("%s: label %s=%q, want %q", m.Platform.Architecture, k, cf.Config.Labels[k], v)
			}
		}
	}
	if !got["amd64"] || !got["arm64"] {
		t.Errorf("index platforms %v, want amd64 and arm64", got)
	}
}
