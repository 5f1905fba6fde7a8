package publish

import (
	"bytes"
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
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir/crashtest"
)

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

func tags(t testing.TB, image string, extra ...string) []name.Tag {
	t.Helper()
	ts, err := ParseTags(image, extra)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

var fastRetry = WithRetryBackoff(remote.Backoff{Duration: 10 * time.Millisecond, Factor: 1, Steps: 4})

// noRetry makes every request a single attempt.
var noRetry = remote.Backoff{Steps: 1}

func TestParseOutput(t *testing.T) {
	good := map[string]Output{"": {Kind: "registry"}, "registry": {Kind: "registry"}, "docker": {Kind: "docker"},
		"oci:out/x": {Kind: "oci", Path: "out/x"}, "tar:/tmp/a.tar": {Kind: "tar", Path: "/tmp/a.tar"}}
	for in, want := range good {
		got, err := ParseOutput(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v", in, got, err)
		}
	}
	for _, in := range []string{"oci", "tar:", "s3:bucket", "Registry"} {
		if _, err := ParseOutput(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestParseTags(t *testing.T) {
	ts := tags(t, "registry.example:5000/team/app", "1.2", " latest", "1.2", "", "sha-abc")
	var got []string
	for _, tg := range ts {
		got = append(got, tg.Name())
	}
	want := "registry.example:5000/team/app:latest registry.example:5000/team/app:1.2 registry.example:5000/team/app:sha-abc"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v", got)
	}
	for _, bad := range []string{"", "app@sha256:" + strings.Repeat("a", 64), "Bad Name"} {
		if _, err := ParseTags(bad, nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseTags("app", []string{"bad tag!"}); err == nil {
		t.Error("invalid extra tag accepted")
	}
}

func TestRegistryPushesIndexThenTags(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	idx := twoPlatformIndex(t)
	pub, err := NewRegistry(tags(t, reg.Host+"/team/app:1.0", "latest"), fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	res, err := pub.Publish(context.Background(), idx)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	if res.Reference != reg.Host+"/team/app@"+want.String() || res.Digest != want {
		t.Errorf("result %+v", res)
	}
	regtest.AssertPushOrder(t, reg.Log(), "team/app", idx, "1.0", "latest")
	for _, tag := range []string{"1.0", "latest"} {
		ref, _ := name.ParseReference(reg.Host + "/team/app:" + tag)
		got, err := remote.Index(ref)
		if err != nil {
			t.Fatalf("tag %s: %v", tag, err)
		}
		if d, _ := got.Digest(); d != want {
			t.Errorf("tag %s points at %s", tag, d)
		}
		if err := validate.Index(got); err != nil {
			t.Errorf("pushed index invalid: %v", err)
		}
	}
}

// The retry policy is the publisher's option: with four attempts per
// request three 503s in a row are ridden out and four are not; with
// retries off one 503 fails the push, in one line, and moves no tag. The
// default (five attempts, 7.5 s of pauses) rides out four.
func TestRegistryRetryPolicy(t *testing.T) {
	regtest.EmptyDockerConfig(t)
	fourAttempts := WithRetryBackoff(remote.Backoff{Duration: 10 * time.Millisecond, Factor: 1, Steps: 4})
	cases := []struct {
		name  string
		fails int64
		opts  []RegistryOption
		ok    bool
	}{
		{"3 of 4 attempts fail", 3, []RegistryOption{fourAttempts}, true},
		{"4 of 4 attempts fail", 4, []RegistryOption{fourAttempts}, false},
		{"retries off", 1, []RegistryOption{WithRetryBackoff(noRetry)}, false},
		{"retries off, Steps 0", 1, []RegistryOption{WithRetryBackoff(remote.Backoff{})}, false},
		{"retries off, no failure", 0, []RegistryOption{WithRetryBackoff(noRetry)}, true},
		{"default, 4 of 5 attempts fail", 4, nil, true},
		{"default, 5 of 5 attempts fail", 5, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			reg := regtest.New(t)
			reg.FailNext(c.fails)
			idx := twoPlatformIndex(t)
			pub, err := NewRegistry(tags(t, reg.Host+"/team/app:1"), c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = pub.Publish(context.Background(), idx)
			if c.ok {
				if err != nil {
					t.Fatalf("%d 503s: %v", c.fails, err)
				}
				regtest.AssertPushOrder(t, reg.Log(), "team/app", idx, "1")
				return
			}
			if err == nil {
				t.Fatalf("%d 503s in a row were ridden out", c.fails)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), reg.Host) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error does not name the registry and the 503 in one line: %v", err)
			}
			ref, _ := name.ParseReference(reg.Host + "/team/app:1")
			regtest.AssertAbsent(t, ref)
		})
	}
}

func TestRegistryCredentialsFromDockerConfig(t *testing.T) {
	reg := regtest.New(t, regtest.WithBasicAuth("ci", "s3cret"))
	idx := twoPlatformIndex(t)

	regtest.DockerConfig(t, reg.Host, "ci", "wrong")
	pub, _ := NewRegistry(tags(t, reg.Host+"/team/app:1"), fastRetry)
	_, err := pub.Publish(context.Background(), idx)
	if err == nil || !strings.Contains(err.Error(), "refused the credentials") || !strings.Contains(err.Error(), "docker login "+reg.Host) {
		t.Fatalf("wrong password: %v", err)
	}

	regtest.DockerConfig(t, reg.Host, "ci", "s3cret")
	ref, _ := name.ParseReference(reg.Host + "/team/app:1")
	regtest.AssertAbsent(t, ref, remote.WithAuthFromKeychain(authnDefault()))
	if _, err := pub.Publish(context.Background(), idx); err != nil {
		t.Fatalf("right password from the Docker config: %v", err)
	}
	if _, err := remote.Head(ref, remote.WithAuthFromKeychain(authnDefault())); err != nil {
		t.Fatalf("tag missing after push: %v", err)
	}
}

func TestRegistryUnreachable(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	reg.Close()
	pub, _ := NewRegistry(tags(t, reg.Host+"/team/app:1"), fastRetry)
	_, err := pub.Publish(context.Background(), twoPlatformIndex(t))
	if err == nil || !strings.Contains(err.Error(), "unreachable") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("unreachable registry: %v", err)
	}
}

func TestLayoutRoundTripAndReplace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "layout")
	idx := twoPlatformIndex(t)
	pub := NewLayout(dir, tags(t, "team/app:1.0"), nil)
	res, err := pub.Publish(context.Background(), idx)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	if res.Digest != want || res.Reference != dir+"@"+want.String() {
		t.Errorf("result %+v", res)
	}
	check := func(wantDigest v1.Hash) {
		t.Helper()
		p, err := layout.FromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		outer, _ := p.ImageIndex()
		om, _ := outer.IndexManifest()
		if len(om.Manifests) != 1 || om.Manifests[0].Digest != wantDigest {
			t.Fatalf("layout index.json: %+v", om.Manifests)
		}
		if om.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "1.0" {
			t.Errorf("annotations %v", om.Manifests[0].Annotations)
		}
		inner, err := outer.ImageIndex(wantDigest)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(inner); err != nil {
			t.Fatalf("layout index invalid: %v", err)
		}
	}
	check(want)

	second := twoPlatformIndex(t)
	if _, err := pub.Publish(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	d2, _ := second.Digest()
	check(d2)
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
		t.Errorf("temp dirs left behind: %v", entries)
	}
}

// Killed between writing the new layout and the swap: the old layout is
// whole and readable; the next publish removes the killed run's leftovers.
func TestLayoutCrashKeepsOldLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	first := twoPlatformIndex(t)
	if _, err := NewLayout(dir, nil, nil).Publish(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	crashtest.Run(t, dir, func(dir string) {
		NewLayout(dir, nil, nil).Publish(context.Background(), twoPlatformIndex(t))
	})
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	outer, _ := p.ImageIndex()
	om, err := outer.IndexManifest()
	want, _ := first.Digest()
	if err != nil || len(om.Manifests) != 1 || om.Manifests[0].Digest != want {
		t.Fatalf("old layout after the crash: %v %+v", err, om)
	}
	if _, err := outer.ImageIndex(want); err != nil {
		t.Fatalf("old layout incomplete: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 2 {
		t.Fatalf("the killed run left nothing: %v", entries)
	}
	if _, err := NewLayout(dir, nil, nil).Publish(context.Background(), twoPlatformIndex(t)); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
		t.Fatalf("leftovers: %v", entries)
	}
}

// Killed between writing the new archive and the rename: the old archive
// is whole; the next write removes the killed run's leftover.
func TestTarballCrashKeepsOldArchive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.tar")
	amd64 := platform.Platform{OS: "linux", Arch: "amd64"}
	if _, err := NewTarball(path, tags(t, "app:1"), amd64).Publish(context.Background(), twoPlatformIndex(t)); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	crashtest.Run(t, path, func(path string) {
		NewTarball(path, tags(t, "app:2"), amd64).Publish(context.Background(), twoPlatformIndex(t))
	})
	if b, _ := os.ReadFile(path); !bytes.Equal(b, old) {
		t.Fatal("the old archive changed")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 2 {
		t.Fatalf("the killed run left nothing: %v", entries)
	}
	if _, err := NewTarball(path, tags(t, "app:3"), amd64).Publish(context.Background(), twoPlatformIndex(t)); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("leftovers: %v", entries)
	}
}

func TestTarballHoldsTheHostPlatform(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "app.tar")
	idx := twoPlatformIndex(t)
	host, _ := platform.Parse("linux/arm64")
	res, err := NewTarball(out, tags(t, "team/app:1.0"), host).Publish(context.Background(), idx)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("team/app:1.0")
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	if cf.Architecture != "arm64" {
		t.Errorf("tarball holds %s, want the host's arm64", cf.Architecture)
	}
	// The result names the index's arm64 image, which the tarball holds
	// (under Docker media types, so compared by config).
	im, _ := idx.IndexManifest()
	var arm64 v1.Hash
	for _, m := range im.Manifests {
		if m.Platform.Architecture == "arm64" {
			arm64 = m.Digest
		}
	}
	want, err := idx.Image(arm64)
	if err != nil {
		t.Fatal(err)
	}
	wantCfg, _ := want.ConfigName()
	if cfg, err := img.ConfigName(); err != nil || cfg != wantCfg || res.Digest != arm64 || res.Reference != "team/app:1.0" {
		t.Errorf("result %+v, tarball config %v %v, index's arm64 image %s config %s", res, cfg, err, arm64, wantCfg)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left: %v", entries)
	}
}
