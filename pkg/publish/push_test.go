package publish

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// A split build's platform push is the very manifest the multi-platform
// index lists for that platform, untagged.
func TestPushByDigestPushesTheIndexsPlatformManifest(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	repo, _ := name.NewRepository(reg.Host + "/team/app")
	idx := twoPlatformIndex(t)
	im, _ := idx.IndexManifest()
	arm64, _ := platform.Parse("linux/arm64")
	res, err := PushByDigest(context.Background(), repo, idx, arm64, fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != im.Manifests[1].Digest || res.Reference != repo.Name()+"@"+res.Digest.String() {
		t.Errorf("pushed %s (%s), want the index's arm64 manifest %s", res.Reference, res.Digest, im.Manifests[1].Digest)
	}
	img, err := remote.Image(repo.Digest(res.Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	if cf, _ := img.ConfigFile(); cf.Architecture != "arm64" {
		t.Errorf("pushed a %s image", cf.Architecture)
	}
	if ts, _ := remote.List(repo); len(ts) != 0 {
		t.Errorf("a by-digest push tagged %v", ts)
	}
	riscv := platform.Platform{OS: "linux", Arch: "riscv64"}
	if _, err := PushByDigest(context.Background(), repo, idx, riscv, fastRetry); err == nil || !strings.Contains(err.Error(), "no linux/riscv64 image to push by digest: the index has linux/amd64, linux/arm64") {
		t.Errorf("a platform the index lacks: %v", err)
	}
}

// PushIndex without tags pushes by digest only; with tags, tags last.
func TestPushIndexTagsLast(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	repo, _ := name.NewRepository(reg.Host + "/team/app")
	idx := twoPlatformIndex(t)
	d, _ := idx.Digest()
	res, err := PushIndex(context.Background(), repo, idx, nil, fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != d || res.Reference != repo.Name()+"@"+d.String() {
		t.Errorf("result %+v, want %s", res, d)
	}
	if ts, _ := remote.List(repo); len(ts) != 0 {
		t.Errorf("tags without tags asked: %v", ts)
	}
	if _, err := PushIndex(context.Background(), repo, idx, tags(t, repo.Name()+":1.0", "latest"), fastRetry); err != nil {
		t.Fatal(err)
	}
	regtest.AssertPushOrder(t, reg.Log(), "team/app", idx, "1.0", "latest")
}

// A push costs one ping, one existence check per manifest and blob, the
// uploads and one PUT per manifest and tag: the tags reuse the index
// push's session (no second ping or token). Pushing the same index again
// only checks the index and moves the tags.
func TestPushIndexRequests(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	repo, _ := name.NewRepository(reg.Host + "/team/app")
	idx := twoPlatformIndex(t)
	count := func() map[string]int {
		n := map[string]int{}
		for _, q := range reg.Log() {
			n[q.Method+" "+q.Kind]++
		}
		reg.ResetLog()
		return n
	}
	if _, err := PushIndex(context.Background(), repo, idx, tags(t, repo.Name()+":1.0", "latest"), fastRetry); err != nil {
		t.Fatal(err)
	}
	regtest.AssertPushOrder(t, reg.Log(), "team/app", idx, "1.0", "latest")
	want := map[string]int{
		"GET other":     1, // the ping
		"HEAD manifest": 3, // index and two platform manifests
		"HEAD blob":     4, // two layers, two configs
		"POST upload":   4,
		"PATCH upload":  4,
		"PUT upload":    4,
		"PUT manifest":  5, // two platforms, the index by digest, two tags
	}
	if got := count(); !maps.Equal(got, want) {
		t.Errorf("first push: %v\nwant %v", got, want)
	}
	if _, err := PushIndex(context.Background(), repo, idx, tags(t, repo.Name()+":1.1"), fastRetry); err != nil {
		t.Fatal(err)
	}
	want = map[string]int{"GET other": 1, "HEAD manifest": 1, "PUT manifest": 1}
	if got := count(); !maps.Equal(got, want) {
		t.Errorf("same index again: %v\nwant %v", got, want)
	}
}
