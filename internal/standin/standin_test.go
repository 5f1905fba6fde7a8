package standin

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The stand-in is an index for both platforms whose images declare the
// labels the kit reads.
func TestImageIsMultiPlatformWithLabels(t *testing.T) {
	ref := Image(t)
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
		got[m.Platform.Architecture] = true
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Architecture != m.Platform.Architecture {
			t.Errorf("%s: config says %s", m.Platform.Architecture, cf.Architecture)
		}
		if cf.Config.Labels[LabelLibc] != "gnu" || cf.Config.Labels[LabelRustFlags] != CrtStatic {
			t.Errorf("%s: labels %v", m.Platform.Architecture, cf.Config.Labels)
		}
	}
	for _, a := range Arches {
		if !got[a] {
			t.Errorf("index has no %s image: %v", a, got)
		}
	}
}
