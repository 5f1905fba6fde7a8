package builderimage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	bkclient "github.com/moby/buildkit/client"

	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
	"github.com/muslrust-chef/muslrust-chef/pkg/builderimage"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
)

// chefMirror serves stand-in cargo-chef release assets laid out like
// GitHub's (v<version>/cargo-chef-<triple>.tar.xz, a directory inside), so
// the Dockerfile's real download, checksum and install step runs offline.
// It returns the base URL, each arch's sha256 and binary.
func chefMirror(t *testing.T, version string) (string, map[string]string, map[string][]byte) {
	t.Helper()
	tarBin := testinfra.Tool(t, "tar")
	testinfra.Tool(t, "xz")
	root := t.TempDir()
	sums, bins := map[string]string{}, map[string][]byte{}
	for arch, triple := range triples {
		bin, err := os.ReadFile(fixtures.GoStatic(t, arch))
		if err != nil {
			t.Fatal(err)
		}
		stage := filepath.Join(t.TempDir(), "cargo-chef-"+triple)
		os.MkdirAll(stage, 0o755)
		if err := os.WriteFile(filepath.Join(stage, "cargo-chef"), bin, 0o755); err != nil {
			t.Fatal(err)
		}
		asset := filepath.Join(root, "v"+version, "cargo-chef-"+triple+".tar.xz")
		os.MkdirAll(filepath.Dir(asset), 0o755)
		if out, err := exec.Command(tarBin, "-cJf", asset, "-C", filepath.Dir(stage), filepath.Base(stage)).CombinedOutput(); err != nil {
			t.Fatalf("tar: %v %s", err, out)
		}
		data, _ := os.ReadFile(asset)
		sum := sha256.Sum256(data)
		sums[arch], bins[arch] = hex.EncodeToString(sum[:]), bin
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	t.Cleanup(srv.Close)
	return srv.URL, sums, bins
}

// The cargo-chef step for real: a version other than the pin, with its
// checksums, downloaded from a mirror, verified and installed for both
// platforms; a wrong checksum fails the build and pushes nothing.
func TestCargoChefChecksummedInstall(t *testing.T) {
	registry, bk := requireInfra(t)
	base := testimages.Busybox(t)
	cleanEnv(t)
	url, sums, bins := chefMirror(t, "0.1.99")
	repo := registry + "/muslrust-chef-test/builder-chef-" + uniq()
	settings := config.ImageSettings{
		Image: repo, Tags: "chef", Cache: "off", MuslrustImage: base,
		ChefVersion: "0.1.99", ChefSHA256: "amd64=" + sums["amd64"] + ",arm64=" + sums["arm64"], ChefURL: url,
		CrossToolchain: "none",
	}
	b := connect(t, bk)

	bad := settings
	bad.Tags = "bad"
	bad.ChefSHA256 = "amd64=" + strings.Repeat("0", 64) + ",arm64=" + sums["arm64"]
	req, err := planPush(context.Background(), bad)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	req.OnStatus = func(ss *bkclient.SolveStatus) {
		for _, l := range ss.Logs {
			logs.Write(l.Data)
		}
	}
	_, err = builderimage.Push(context.Background(), b, req)
	assertOneLine(t, err, "did not complete successfully")
	if want := "checksum mismatch for " + url + "/v0.1.99/cargo-chef-x86_64-unknown-linux-musl.tar.xz: expected " + strings.Repeat("0", 64) + ", got " + sums["amd64"]; !strings.Contains(logs.String(), want) {
		t.Errorf("build log lacks %q:\n%s", want, logs.String())
	}
	absent(t, repo+":bad")

	req, err = planPush(context.Background(), settings)
	if err != nil {
		t.Fatal(err)
	}
	res, err := builderimage.Push(context.Background(), b, req)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(res.Ref, name.Insecure)
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Platform.OS != "linux" {
			continue
		}
		img, _ := idx.Image(m.Digest)
		got := fileFromImage(t, img, "/usr/local/bin/cargo-chef")
		if !bytes.Equal(got, bins[m.Platform.Architecture]) {
			t.Errorf("%s: /usr/local/bin/cargo-chef is not the %s release binary", m.Platform.Architecture, m.Platform.Architecture)
		}
	}
}
