package publish_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// platformImage is a random image whose config names a platform, as a
// per-platform build pushes it.
func platformImage(t *testing.T, arch, variant string, mt types.MediaType) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, mt)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = "linux", arch, variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func pushByDigest(t *testing.T, repo string, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewDigest(repo + "@" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		t.Fatal(err)
	}
	return ref.String()
}

func tags(t *testing.T, refs ...string) []name.Tag {
	var out []name.Tag
	for _, r := range refs {
		tg, err := name.NewTag(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tg)
	}
	return out
}

func listTags(t *testing.T, repo string) []string {
	r, _ := name.NewRepository(repo)
	ts, _ := remote.List(r)
	return ts
}

func TestMergeTwoPlatforms(t *testing.T) {
	regtest.EmptyDockerConfig(t)
	for _, mt := range []types.MediaType{types.OCIManifestSchema1, types.DockerManifestSchema2} {
		reg := regtest.New(t)
		repo := reg.Host + "/team/app"
		amd := pushByDigest(t, repo, platformImage(t, "amd64", "", mt))
		arm := pushByDigest(t, repo, platformImage(t, "arm64", "v8", mt))
		res, err := publish.Merge(context.Background(),
			[]string{arm, amd}, // order does not matter
			tags(t, repo+":1.0", repo+":latest"),
		)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(res.Platforms, ",") != "linux/amd64,linux/arm64/v8" || len(res.Tags) != 2 {
			t.Errorf("%s: result %+v", mt, res)
		}
		r, _ := name.ParseReference(repo + ":latest")
		idx, err := remote.Index(r)
		if err != nil {
			t.Fatal(err)
		}
		im, _ := idx.IndexManifest()
		wantIdx := types.OCIImageIndex
		if mt == types.DockerManifestSchema2 {
			wantIdx = types.DockerManifestList
		}
		if im.MediaType != wantIdx {
			t.Errorf("index media type %s for %s children, want %s", im.MediaType, mt, wantIdx)
		}
		want := map[string]string{"amd64": strings.SplitN(amd, "@", 2)[1], "arm64": strings.SplitN(arm, "@", 2)[1]}
		for _, m := range im.Manifests {
			if want[m.Platform.Architecture] != m.Digest.String() || m.MediaType != mt {
				t.Errorf("child %s %s %s, want %s", m.Platform.Architecture, m.Digest, m.MediaType, want[m.Platform.Architecture])
			}
		}
		d, _ := idx.Digest()
		if d.String() != res.Digest || res.Ref != repo+"@"+res.Digest {
			t.Errorf("digest %s, result %s %s", d, res.Digest, res.Ref)
		}
		regtest.AssertPushOrder(t, reg.Log(), "team/app", idx, "1.0", "latest")
	}
}

// A per-platform push may itself be an index (BuildKit with attestations):
// its platform manifests are taken over, its attestations are not.
func TestMergeFlattensIndexChild(t *testing.T) {
	regtest.EmptyDockerConfig(t)
	reg := regtest.New(t)
	repo := reg.Host + "/team/app"
	amdImg := platformImage(t, "amd64", "", types.OCIManifestSchema1)
	att, _ := random.Image(64, 1)
	att = mutate.MediaType(att, types.OCIManifestSchema1)
	child := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amdImg, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}})
	cd, _ := child.Digest()
	childRef, _ := name.NewDigest(repo + "@" + cd.String())
	if err := remote.WriteIndex(childRef, child); err != nil {
		t.Fatal(err)
	}
	arm := pushByDigest(t, repo, platformImage(t, "arm64", "v8", types.OCIManifestSchema1))
	res, err := publish.Merge(context.Background(), []string{childRef.String(), arm}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Platforms, ",") != "linux/amd64,linux/arm64/v8" {
		t.Errorf("platforms %v", res.Platforms)
	}
	if len(res.Tags) != 0 || len(listTags(t, repo)) != 0 {
		t.Errorf("no tags asked, but tagged %v / %v", res.Tags, listTags(t, repo))
	}
}

func TestMergeRefusesAndPushesNothing(t *testing.T) {
	regtest.EmptyDockerConfig(t)
	reg := regtest.New(t)
	repo := reg.Host + "/team/app"
	amd := pushByDigest(t, repo, platformImage(t, "amd64", "", types.OCIManifestSchema1))
	amd2 := pushByDigest(t, repo, platformImage(t, "amd64", "", types.OCIManifestSchema1))
	other := pushByDigest(t, reg.Host+"/team/other", platformImage(t, "arm64", "", types.OCIManifestSchema1))
	missing := repo + "@sha256:" + strings.Repeat("ab", 32)
	noPlatform, _ := random.Image(64, 1) // config without os/architecture
	bare := pushByDigest(t, repo, noPlatform)

	cases := []struct {
		digests []string
		tags    []name.Tag
		want    []string
	}{
		{[]string{amd, amd}, nil, []string{"is given twice"}},
		{[]string{amd, amd2}, nil, []string{"two images for linux/amd64"}},
		{[]string{amd, other}, nil, []string{"different repositories"}},
		{[]string{amd, repo + ":latest"}, nil, []string{"has no digest", "repo@sha256:<digest>"}},
		{[]string{amd, missing}, nil, []string{"does not exist in " + repo, "nothing was pushed"}},
		{[]string{amd, bare}, nil, []string{"no os/architecture in its config"}},
		{[]string{amd}, tags(t, reg.Host+"/elsewhere/app:1"), []string{"is in repository " + reg.Host + "/elsewhere/app", "tag within"}},
		{nil, nil, []string{"no digests to merge"}},
	}
	for _, c := range cases {
		res, err := publish.Merge(context.Background(), c.digests, append(c.tags, tags(t, repo+":1")...))
		if err == nil {
			t.Errorf("%v: merged %+v, want refusal %q", c.digests, res, c.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("not one line: %q", err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error lacks %q: %v", c.digests, w, err)
			}
		}
	}
	if ts := listTags(t, repo); len(ts) != 0 {
		t.Errorf("refused merges pushed tags %v", ts)
	}
}

func TestMergeCredentials(t *testing.T) {
	reg := regtest.New(t, regtest.WithBasicAuth("ci", "right"))
	repo := reg.Host + "/team/app"
	regtest.DockerConfig(t, reg.Host, "ci", "right")
	amd := pushByDigest(t, repo, platformImage(t, "amd64", "", types.OCIManifestSchema1))

	regtest.DockerConfig(t, reg.Host, "ci", "wrong")
	_, err := publish.Merge(context.Background(), []string{amd}, tags(t, repo+":1"))
	if err == nil || !strings.Contains(err.Error(), "refused the credentials") || !strings.Contains(err.Error(), "docker login "+reg.Host) {
		t.Errorf("wrong credentials: %v", err)
	}
	regtest.DockerConfig(t, reg.Host, "ci", "right")
	if ts := listTagsAuth(t, repo); len(ts) != 0 {
		t.Errorf("tags after a refused merge: %v", ts)
	}
	if _, err := publish.Merge(context.Background(), []string{amd}, tags(t, repo+":1")); err != nil {
		t.Errorf("right credentials: %v", err)
	}
}

func listTagsAuth(t *testing.T, repo string) []string {
	r, _ := name.NewRepository(repo)
	ts, _ := remote.List(r, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	return ts
}
