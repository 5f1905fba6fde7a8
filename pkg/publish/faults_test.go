package publish

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/faultproxy"
	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
)

// A reset on every blob upload says so, instead of "unreachable".
func TestRegistryResetOnEveryUploadSaysSo(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	px, err := faultproxy.NewHTTP(reg.Host, &faultproxy.Rule{Method: "PUT", Path: "/blobs/uploads/", Action: faultproxy.Reset, Times: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	pub, _ := NewRegistry(tags(t, px.Host+"/team/app:1"), fastRetry)
	_, err = pub.Publish(context.Background(), twoPlatformIndex(t))
	if err == nil {
		t.Fatal("push through resets succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, "unreachable") || !strings.Contains(msg, "reset the connection during the blob upload") ||
		!strings.Contains(msg, px.Host) || strings.Contains(msg, "\n") {
		t.Errorf("error: %s", msg)
	}
	t.Logf("reset on every upload: %s", msg)
}

// Resets and 503s on the first tries of blob and manifest requests are
// retried and the push lands the same index as a clean one.
func TestRegistryRetriesResetsAnd503s(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	rules := []*faultproxy.Rule{
		{Method: "PUT", Path: "/blobs/uploads/", Action: faultproxy.Reset, Times: 1},
		{Method: "HEAD", Path: "/blobs/", Action: faultproxy.Status503, Times: 1},
		{Method: "PUT", Path: "/manifests/", Action: faultproxy.Reset, Times: 1},
		{Method: "PUT", Path: "/manifests/", Action: faultproxy.Status503, Times: 1},
	}
	px, err := faultproxy.NewHTTP(reg.Host, rules...)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	idx := twoPlatformIndex(t)
	pub, _ := NewRegistry(tags(t, px.Host+"/team/app:1"), fastRetry)
	res, err := pub.Publish(context.Background(), idx)
	if err != nil {
		t.Fatalf("faults on first tries were not retried: %v", err)
	}
	want, _ := idx.Digest()
	if res.Digest != want {
		t.Errorf("digest %s, want %s", res.Digest, want)
	}
	for i, r := range rules {
		if r.Hits() != 1 {
			t.Errorf("rule %d (%s %s %s) hit %d times", i, r.Method, r.Path, r.Action, r.Hits())
		}
	}
}

// An index PUT refused for good names the registry, the tag and what the
// registry answered, and moves no tag.
func TestRegistryIndexPutFailsForGood(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	px, err := faultproxy.NewHTTP(reg.Host, &faultproxy.Rule{Method: "PUT", Path: "/manifests/", ContentType: "image.index", Action: faultproxy.Status500, Times: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	pub, _ := NewRegistry(tags(t, px.Host+"/team/app:1.0"), fastRetry)
	_, err = pub.Publish(context.Background(), twoPlatformIndex(t))
	if err == nil {
		t.Fatal("push succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"registry " + px.Host + " answered HTTP 500 to the manifest upload (sha256:", "of " + px.Host + "/team/app:1.0", "no tag was moved"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	ref, _ := name.ParseReference(reg.Host + "/team/app:1.0")
	if _, err := remote.Head(ref); err == nil {
		t.Error("tag exists")
	}
	t.Logf("index PUT refused: %s", msg)
}
