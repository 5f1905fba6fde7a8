package publish

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

const (
	cdxType  = "application/vnd.cyclonedx+json"
	spdxType = "application/spdx+json"
)

// recordsFor gives each platform manifest of idx a CycloneDX and an SPDX
// document naming its architecture, as the pipeline's records stage does.
func recordsFor(t testing.TB, idx v1.ImageIndex) map[v1.Hash][]Artifact {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	m := map[v1.Hash][]Artifact{}
	for _, d := range im.Manifests {
		arch := d.Platform.Architecture
		m[d.Digest] = []Artifact{
			{ArtifactType: cdxType, Data: []byte(`{"bomFormat":"CycloneDX","arch":"` + arch + `"}`), Title: "app.cdx.json"},
			{ArtifactType: spdxType, Data: []byte(`{"spdxVersion":"SPDX-2.3","arch":"` + arch + `"}`), Title: "app.spdx.json"},
		}
	}
	return m
}

// putAt is the position in log of the successful PUT of manifest ref in
// repo, -1 if none.
func putAt(log []regtest.Request, repo, ref string) int {
	for i, q := range log {
		if q.Repo == repo && q.Kind == "manifest" && q.Method == http.MethodPut && q.Ref == ref && q.Status == http.StatusCreated {
			return i
		}
	}
	return -1
}

func fallbackTagOf(d v1.Hash) string { return strings.Replace(d.String(), ":", "-", 1) }

// assertRecordsBeforeTags checks the push order of records: every artifact
// manifest (and, without the referrers API, every fallback index update)
// stored after the index by digest, which AssertPushOrder shows was stored
// after its platform manifests, and before the first tag moved.
func assertRecordsBeforeTags(t *testing.T, log []regtest.Request, repo string, idx v1.ImageIndex, refs map[v1.Hash][]v1.Descriptor, fallback bool, tags ...string) {
	t.Helper()
	regtest.AssertPushOrder(t, log, repo, idx, tags...)
	d, _ := idx.Digest()
	indexAt := putAt(log, repo, d.String())
	firstTag := len(log)
	for _, tg := range tags {
		if at := putAt(log, repo, tg); at >= 0 && at < firstTag {
			firstTag = at
		}
	}
	// Every PUT of ref: the fallback index is rewritten once per record.
	check := func(what, ref string) {
		t.Helper()
		n := 0
		for at, q := range log {
			if q.Repo != repo || q.Kind != "manifest" || q.Method != http.MethodPut || q.Ref != ref || q.Status != http.StatusCreated {
				continue
			}
			n++
			switch {
			case at < indexAt:
				t.Errorf("%s %s stored (request %d) before the index (request %d)", what, ref, at, indexAt)
			case at > firstTag:
				t.Errorf("%s %s stored (request %d) after the first tag moved (request %d)", what, ref, at, firstTag)
			}
		}
		if n == 0 {
			t.Errorf("%s %s never stored", what, ref)
		}
	}
	for subject, descs := range refs {
		for _, desc := range descs {
			check("referrer of "+subject.String(), desc.Digest.String())
		}
		if fallback {
			check("fallback index of", fallbackTagOf(subject))
		} else if at := putAt(log, repo, fallbackTagOf(subject)); at >= 0 {
			t.Errorf("fallback tag of %s written (request %d) although the registry has the referrers API", subject, at)
		}
	}
	if t.Failed() {
		for i, q := range log {
			t.Logf("%3d %s", i, q)
		}
	}
}

// assertListed checks that the registry lists exactly descs as the
// referrers of each subject, with their artifact types.
func assertListed(t *testing.T, repo name.Repository, refs map[v1.Hash][]v1.Descriptor) {
	t.Helper()
	for subject, descs := range refs {
		idx, err := remote.Referrers(repo.Digest(subject.String()))
		if err != nil {
			t.Fatal(err)
		}
		im, _ := idx.IndexManifest()
		var got, want []string
		for _, d := range im.Manifests {
			got = append(got, d.ArtifactType+" "+d.Digest.String())
		}
		for _, d := range descs {
			want = append(want, d.ArtifactType+" "+d.Digest.String())
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("referrers of %s: %v, want %v", subject, got, want)
		}
	}
}

// Both registry kinds: with the referrers API, and without it (the
// sha256-<digest> fallback tag, as on Debian's docker-registry). The
// records go out after the index, before the tags; publishing the same
// image again uploads nothing and gives the same referrer digests.
func TestRegistryAttachesRecordsBeforeTags(t *testing.T) {
	for kind, opts := range map[string][]regtest.Option{"fallback-tag": nil, "referrers-api": {regtest.WithReferrersAPI()}} {
		t.Run(kind, func(t *testing.T) {
			reg := regtest.New(t, opts...)
			regtest.EmptyDockerConfig(t)
			idx := twoPlatformIndex(t)
			recs := recordsFor(t, idx)
			pub, err := New(Output{Kind: "registry"}, tags(t, reg.Host+"/team/app:1.0", "latest"), platform.Platform{}, fastRetry, WithReferrers(recs))
			if err != nil {
				t.Fatal(err)
			}
			res, err := pub.Publish(context.Background(), idx)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Referrers) != 2 {
				t.Fatalf("result lists referrers of %d manifests, want 2: %v", len(res.Referrers), res.Referrers)
			}
			for subject, descs := range res.Referrers {
				if len(descs) != 2 || descs[0].ArtifactType != cdxType || descs[1].ArtifactType != spdxType {
					t.Errorf("%s: result referrers %+v, want CycloneDX then SPDX", subject, descs)
				}
			}
			assertRecordsBeforeTags(t, reg.Log(), "team/app", idx, res.Referrers, kind == "fallback-tag", "1.0", "latest")
			repo := tags(t, reg.Host+"/team/app")[0].Repository
			assertListed(t, repo, res.Referrers)
			read, err := ReadRecords(context.Background(), reg.Host+"/team/app:1.0", []string{spdxType}, fastRetry)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range read {
				subject, err := v1.NewHash(r.Digest.DigestStr())
				if err != nil {
					t.Fatal(err)
				}
				want := recs[subject]
				if string(r.Data) != string(want[1].Data) || r.Referrer != res.Referrers[subject][1].Digest {
					t.Errorf("%s: read %q from %s, want %q from %s", r.Platform.Architecture, r.Data, r.Referrer, want[1].Data, res.Referrers[subject][1].Digest)
				}
			}

			reg.ResetLog()
			again, err := pub.Publish(context.Background(), idx)
			if err != nil {
				t.Fatal(err)
			}
			for subject, descs := range res.Referrers {
				if !slices.EqualFunc(descs, again.Referrers[subject], func(a, b v1.Descriptor) bool { return a.Digest == b.Digest }) {
					t.Errorf("%s: republished referrers %v, first time %v", subject, again.Referrers[subject], descs)
				}
			}
			for _, q := range reg.Log() {
				if q.Kind == "upload" {
					t.Errorf("publishing the same image and records again uploaded: %s", q)
				}
			}
			assertListed(t, repo, again.Referrers)
		})
	}
}

// A referrer the registry refuses fails the publish before any tag moves:
// the tag keeps naming the previous image.
func TestFailedAttachLeavesTagsAlone(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	tg := tags(t, reg.Host+"/team/app:1.0")
	old := twoPlatformIndex(t)
	if _, err := PushIndex(context.Background(), tg[0].Repository, old, tg, fastRetry); err != nil {
		t.Fatal(err)
	}
	oldDigest, _ := old.Digest()
	idx := twoPlatformIndex(t)
	recs := recordsFor(t, idx)
	im, _ := idx.IndexManifest()
	arm64 := im.Manifests[1]
	refused, err := artifactManifest(recs[arm64.Digest][1], arm64)
	if err != nil {
		t.Fatal(err)
	}
	reg.FailWhen(func(q regtest.Request) bool {
		return q.Method == http.MethodPut && q.Kind == "manifest" && q.Ref == refused.desc.Digest.String()
	})
	reg.ResetLog()
	_, err = PushIndex(context.Background(), tg[0].Repository, idx, tg, WithRetryBackoff(noRetry), WithReferrers(recs))
	want := "registry " + reg.Host + " answered HTTP 500 to the manifest upload (" + refused.desc.Digest.String() + ") of " + spdxType + " referrer of " + reg.Host + "/team/app@" + arm64.Digest.String()
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error = %v, want one line containing %q", err, want)
	}
	if at := putAt(reg.Log(), "team/app", "1.0"); at >= 0 {
		t.Errorf("tag 1.0 moved (request %d) although a record failed", at)
	}
	reg.FailWhen(nil)
	d, err := remote.Head(tg[0])
	if err != nil {
		t.Fatal(err)
	}
	if d.Digest != oldDigest {
		t.Errorf("tag 1.0 names %s after the failed publish, want the previous image %s", d.Digest, oldDigest)
	}
}

// A split build's push attaches its platform's records after its manifest,
// and only those.
func TestPushByDigestAttachesItsPlatformsRecords(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	repo, _ := name.NewRepository(reg.Host + "/team/app")
	idx := twoPlatformIndex(t)
	im, _ := idx.IndexManifest()
	amd64, arm64 := im.Manifests[0].Digest, im.Manifests[1].Digest
	res, err := PushByDigest(context.Background(), repo, idx, platform.Platform{OS: "linux", Arch: "arm64"}, fastRetry, WithReferrers(recordsFor(t, idx)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Referrers) != 1 || len(res.Referrers[arm64]) != 2 {
		t.Fatalf("result referrers %v, want arm64's two only", res.Referrers)
	}
	log := reg.Log()
	manifestAt := putAt(log, "team/app", arm64.String())
	for _, d := range res.Referrers[arm64] {
		if at := putAt(log, "team/app", d.Digest.String()); at < manifestAt || manifestAt < 0 {
			t.Errorf("referrer %s stored (request %d) before its subject (request %d)", d.Digest, at, manifestAt)
		}
	}
	if at := putAt(log, "team/app", fallbackTagOf(amd64)); at >= 0 {
		t.Errorf("amd64's records attached by arm64's push (request %d)", at)
	}
	assertListed(t, repo, res.Referrers)
}

// Records that do not belong to the index, or an empty one, fail before
// any request or any file.
func TestBadRecordsWriteNothing(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	repo, _ := name.NewRepository(reg.Host + "/team/app")
	idx := twoPlatformIndex(t)
	im, _ := idx.IndexManifest()
	stray := twoPlatformIndex(t)
	cases := map[string]struct {
		recs map[v1.Hash][]Artifact
		want string
	}{
		"other build": {recordsFor(t, stray), "which index "},
		"empty":       {map[v1.Hash][]Artifact{im.Manifests[0].Digest: {{ArtifactType: cdxType}}}, "an artifact needs an artifact type and content"},
	}
	for n, tc := range cases {
		t.Run(n, func(t *testing.T) {
			reg.ResetLog()
			_, err := PushIndex(context.Background(), repo, idx, tags(t, repo.Name()+":1.0"), fastRetry, WithReferrers(tc.recs))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("push: %v, want %q", err, tc.want)
			}
			_, err = PushByDigest(context.Background(), repo, idx, platform.Platform{OS: "linux", Arch: "amd64"}, fastRetry, WithReferrers(tc.recs))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("push by digest: %v, want %q", err, tc.want)
			}
			if n := len(reg.Log()); n != 0 {
				t.Errorf("%d requests sent for records that cannot be published: %v", n, reg.Log())
			}
			dir := t.TempDir() + "/layout"
			_, err = NewLayout(dir, nil, tc.recs).Publish(context.Background(), idx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("layout: %v, want %q", err, tc.want)
			}
			assertNoPath(t, dir)
		})
	}
}
