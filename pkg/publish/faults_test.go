package publish

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/internal/faultproxy"
	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
)

// A registry that takes the index PUT and never answers must not hang the
// push: it ends within StallBound with one line naming the registry and the
// request that stalled.
func TestRegistryStallGivesUpWithinBound(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	stall := &faultproxy.Rule{Method: "PUT", Path: "/manifests/sha256:", Action: faultproxy.Stall, Times: -1}
	px, err := faultproxy.NewHTTP(reg.Host, stall)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	idx := twoPlatformIndex(t)
	d, _ := idx.Digest()
	im, _ := idx.IndexManifest()
	// Only the index PUT stalls: platform manifests go by digest too, so
	// let those through by stalling the index digest alone.
	stall.Path = "/manifests/" + d.String()
	pub, _ := NewRegistry(tags(t, px.Host+"/team/app:1"), fastRetry, WithRequestTimeout(300*time.Millisecond))
	bound := pub.StallBound()
	if bound != 300*time.Millisecond {
		t.Fatalf("stall bound %s", bound)
	}
	start := time.Now()
	_, err = pub.Publish(context.Background(), idx)
	took := time.Since(start)
	if err == nil {
		t.Fatal("a stalled index PUT succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "registry "+px.Host+" stopped answering") ||
		!strings.Contains(msg, "manifest upload ("+d.String()+")") || !strings.Contains(msg, "MUSLRUST_CHEF_REGISTRY_TIMEOUT") {
		t.Errorf("error: %s", msg)
	}
	if took > bound+time.Second {
		t.Errorf("gave up after %s, bound %s", took, bound)
	}
	if stall.Hits() != 1 {
		t.Errorf("stalled index PUT tried %d times, want 1: a timed-out request is not retried", stall.Hits())
	}
	// The platform manifests did arrive: only the index is missing.
	for _, m := range im.Manifests {
		ref, _ := name.NewDigest(reg.Host + "/team/app@" + m.Digest.String())
		if _, err := remote.Head(ref); err != nil {
			t.Errorf("platform manifest %s: %v", m.Digest, err)
		}
	}
	t.Logf("stalled index PUT given up after %s (bound %s): %s", took.Round(time.Millisecond), bound, msg)
}

// The push deadline ends a push whose every request is answered too slowly
// for the whole, saying so and naming the knob.
func TestRegistryPushDeadline(t *testing.T) {
	reg := regtest.New(t)
	regtest.EmptyDockerConfig(t)
	px, err := faultproxy.NewHTTP(reg.Host, &faultproxy.Rule{Path: "/blobs/", Action: faultproxy.Stall, Times: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	pub, _ := NewRegistry(tags(t, px.Host+"/team/app:1"), fastRetry, WithRequestTimeout(0), WithPushTimeout(400*time.Millisecond))
	start := time.Now()
	_, err = pub.Publish(context.Background(), twoPlatformIndex(t))
	if err == nil || !strings.Contains(err.Error(), "did not finish within 400ms") || !strings.Contains(err.Error(), "MUSLRUST_CHEF_PUSH_TIMEOUT") {
		t.Fatalf("push deadline: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("deadline of 400ms took %s", took)
	}
}

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
