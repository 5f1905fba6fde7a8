package publish_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/internal/testimages"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

func plat(t testing.TB, s string) platform.Platform {
	t.Helper()
	p, err := platform.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadBasePicksEachPlatformsManifest(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	ref := testimages.PushRandomBase(t, reg.Host, "amd64", "arm64")
	amd64, arm64 := plat(t, "amd64"), plat(t, "arm64")
	base, err := publish.ReadBase(context.Background(), ref, []platform.Platform{amd64, arm64})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	idx, _ := remote.Index(r)
	im, _ := idx.IndexManifest()
	if base.Ref != ref || len(base.Images) != 2 {
		t.Fatalf("base %s with %d images", base.Ref, len(base.Images))
	}
	for i, p := range []platform.Platform{amd64, arm64} {
		d, err := base.Images[p].Digest()
		if err != nil || d != im.Manifests[i].Digest {
			t.Errorf("%s: digest %s (%v), want %s", p, d, err, im.Manifests[i].Digest)
		}
	}
	scratch, err := publish.ReadBase(context.Background(), publish.Scratch, []platform.Platform{amd64})
	if err != nil || scratch.Ref != "" || scratch.Images != nil {
		t.Errorf("scratch: %+v, %v", scratch, err)
	}
}

func TestBadBaseImages(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	amd64Only := testimages.PushRandomBase(t, reg.Host, "amd64")
	dead := regtest.New(t)
	deadHost := dead.Host
	dead.Close()

	cases := map[string][]string{
		amd64Only:                    {"lacks platform linux/arm64", "it has linux/amd64"},
		reg.Host + "/nothing/here:1": {"not found"},
		deadHost + "/base:1":         {"unreachable"},
		"UPPER/Case:bad tag":         {"not a valid reference"},
	}
	both := []platform.Platform{plat(t, "amd64"), plat(t, "arm64")}
	for base, wants := range cases {
		_, err := publish.ReadBase(context.Background(), base, both)
		if err == nil {
			t.Errorf("%s: accepted", base)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", base, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: multi-line error %q", base, err)
		}
	}
}

func TestCheckBaseFailsFastWithoutBinaries(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	amd64Only := testimages.PushRandomBase(t, reg.Host, "amd64")
	ctx := context.Background()
	amd64, arm64 := plat(t, "amd64"), plat(t, "arm64")
	if err := publish.CheckBase(ctx, amd64Only, []platform.Platform{amd64}); err != nil {
		t.Fatalf("amd64 on an amd64 base: %v", err)
	}
	if err := publish.CheckBase(ctx, amd64Only, []platform.Platform{amd64, arm64}); err == nil || !strings.Contains(err.Error(), "lacks platform linux/arm64") {
		t.Fatalf("missing platform: %v", err)
	}
	if err := publish.CheckBase(ctx, publish.Scratch, []platform.Platform{arm64}); err != nil {
		t.Fatalf("scratch: %v", err)
	}
	dead := regtest.New(t)
	dead.Close()
	if err := publish.CheckBase(ctx, dead.Host+"/base:1", []platform.Platform{amd64}); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("unreachable: %v", err)
	}
}
