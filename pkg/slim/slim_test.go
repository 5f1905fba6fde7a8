package slim

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

func TestMain(m *testing.M) {
	code := m.Run()
	fixtures.Cleanup()
	os.Exit(code)
}

func plat(t testing.TB, s string) platform.Platform {
	t.Helper()
	p, err := platform.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func bothBinaries(t testing.TB) []Binary {
	return []Binary{
		{Platform: plat(t, "linux/amd64"), Path: fixtures.GoStatic(t, "amd64")},
		{Platform: plat(t, "linux/arm64"), Path: fixtures.GoStatic(t, "arm64")},
	}
}

func TestScratchIndexHasBothPlatformsAndExpectedLayer(t *testing.T) {
	created := time.Unix(1700000000, 0).UTC()
	idx, err := Build(Base{}, "app", bothBinaries(t), WithCreated(created),
		WithLabels(Labels{Source: "https://example.invalid/app", Revision: "abc123", Version: "1.2.3"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("invalid index: %v", err)
	}
	im, _ := idx.IndexManifest()
	if im.MediaType != types.OCIImageIndex || len(im.Manifests) != 2 {
		t.Fatalf("index: %s with %d manifests", im.MediaType, len(im.Manifests))
	}
	for _, desc := range im.Manifests {
		arch := desc.Platform.Architecture
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		if cf.OS != "linux" || cf.Architecture != arch {
			t.Errorf("%s: config platform %s/%s", arch, cf.OS, cf.Architecture)
		}
		if arch == "arm64" && (desc.Platform.Variant != "v8" || cf.Variant != "v8") {
			t.Errorf("arm64 variant: descriptor %q config %q", desc.Platform.Variant, cf.Variant)
		}
		if got := strings.Join(cf.Config.Entrypoint, " "); got != "/usr/local/bin/app" {
			t.Errorf("%s: entrypoint %q", arch, got)
		}
		if cf.Config.User != "65532:65532" || !cf.Created.Time.Equal(created) {
			t.Errorf("%s: user %q created %v", arch, cf.Config.User, cf.Created)
		}
		wantLabels := map[string]string{
			"org.opencontainers.image.source":   "https://example.invalid/app",
			"org.opencontainers.image.revision": "abc123",
			"org.opencontainers.image.version":  "1.2.3",
			"org.opencontainers.image.title":    "app",
			"org.opencontainers.image.created":  "2023-11-14T22:13:20Z",
		}
		for k, v := range wantLabels {
			if cf.Config.Labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q", arch, k, cf.Config.Labels[k], v)
			}
		}
		layers, _ := img.Layers()
		if len(layers) != 1 {
			t.Fatalf("%s: %d layers on scratch, want 1", arch, len(layers))
		}
		files := readLayer(t, layers[0])
		bin := files["usr/local/bin/app"]
		if bin == nil || bin.Uid != 65532 || bin.Gid != 65532 || bin.Mode&0o7777 != 0o755 || !bin.ModTime.Equal(created) {
			t.Errorf("%s: binary header %+v", arch, bin)
		}
		for _, dir := range []string{"usr/", "usr/local/", "usr/local/bin/"} {
			if files[dir] == nil || files[dir].Typeflag != tar.TypeDir {
				t.Errorf("%s: parent directory %s missing", arch, dir)
			}
		}
		if tmp := files["tmp/"]; tmp == nil || tmp.Mode&0o7777 != 0o1777 {
			t.Errorf("%s: scratch lacks a world-writable /tmp: %+v", arch, tmp)
		}
		if files["etc/passwd"] == nil || files["etc/group"] == nil {
			t.Errorf("%s: scratch lacks passwd/group", arch)
		}
	}
}

func readLayer(t *testing.T, l v1.Layer) map[string]*tar.Header {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h
	}
}

func TestSameInputsSameDigest(t *testing.T) {
	bins := bothBinaries(t)
	// A copy with a different path and mtime must not change the digest.
	copyDir := t.TempDir()
	data, _ := os.ReadFile(bins[0].Path)
	copied := filepath.Join(copyDir, "app")
	os.WriteFile(copied, data, 0o700)
	os.Chtimes(copied, time.Now(), time.Now().Add(-time.Hour))
	other := []Binary{{Platform: bins[0].Platform, Path: copied}, bins[1]}

	digest := func(b []Binary, epoch int64) v1.Hash {
		idx, err := Build(Base{}, "app", b, WithCreated(time.Unix(epoch, 0)))
		if err != nil {
			t.Fatal(err)
		}
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first, second := digest(bins, 0), digest(other, 0)
	if first != second {
		t.Fatalf("same inputs gave %s and %s", first, second)
	}
	if later := digest(bins, 1); later == first {
		t.Fatal("a different SOURCE_DATE_EPOCH gave the same digest")
	}
}

func TestRegistryBaseKeepsBaseAndAddsOneLayer(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	base := testimages.PushRandomBase(t, reg.Host, "amd64", "arm64")
	bins := bothBinaries(t)
	read, err := publish.ReadBase(context.Background(), base, []platform.Platform{bins[0].Platform, bins[1].Platform})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := Build(Base(read), "app", bins)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatal(err)
	}
	baseRef, _ := name.ParseReference(base)
	baseIdx, _ := remote.Index(baseRef)
	baseManifest, _ := baseIdx.IndexManifest()
	im, _ := idx.IndexManifest()
	for i, desc := range im.Manifests {
		img, _ := idx.Image(desc.Digest)
		layers, _ := img.Layers()
		if len(layers) != 3 {
			t.Errorf("%s: %d layers, want base 2 + 1", desc.Platform.Architecture, len(layers))
		}
		cf, _ := img.ConfigFile()
		if cf.Config.Labels["base.label"] != "kept" || !hasEnv(cf.Config.Env, "SSL_CERT_FILE") {
			t.Errorf("base config not kept: %+v", cf.Config)
		}
		if got := cf.Config.Labels["org.opencontainers.image.base.name"]; got != base {
			t.Errorf("base.name label %q", got)
		}
		if got := cf.Config.Labels["org.opencontainers.image.base.digest"]; got != baseManifest.Manifests[i].Digest.String() {
			t.Errorf("base.digest label %q, want %s", got, baseManifest.Manifests[i].Digest)
		}
		if files := readLayer(t, layers[2]); files["etc/passwd"] != nil {
			t.Error("a non-scratch base got scratch's passwd")
		}
	}
}

func TestBuildRefusesPathAsBinaryName(t *testing.T) {
	if _, err := Build(Base{}, "dir/app", bothBinaries(t)); err == nil {
		t.Error("a binary name with a slash was accepted")
	}
}

func TestBuildNeedsBaseForEveryPlatform(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	base := testimages.PushRandomBase(t, reg.Host, "amd64", "arm64")
	bins := bothBinaries(t)
	read, err := publish.ReadBase(context.Background(), base, []platform.Platform{bins[0].Platform})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(Base(read), "app", bins)
	if err == nil || !strings.Contains(err.Error(), "was not read for linux/arm64") {
		t.Fatalf("base lacking a built platform: %v", err)
	}
}
