package publish_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/internal/faultproxy"
	"github.com/muslrust-chef/muslrust-chef/internal/regtest"
	"github.com/muslrust-chef/muslrust-chef/pkg/config"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
)

// image:merge has a rust:* push's deadlines: a registry that takes the
// index PUT and never answers fails the merge within the request timeout,
// with one line naming the registry and the knob, and no tag is pushed.
func TestMergeStallGivesUpWithinBound(t *testing.T) {
	regtest.EmptyDockerConfig(t)
	reg := regtest.New(t)
	stall := &faultproxy.Rule{Method: "PUT", Path: "/manifests/", Action: faultproxy.Stall, Times: -1}
	px, err := faultproxy.NewHTTP(reg.Host, stall)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	amd := pushByDigest(t, reg.Host+"/team/app", platformImage(t, "amd64", "", types.OCIManifestSchema1))
	arm := pushByDigest(t, reg.Host+"/team/app", platformImage(t, "arm64", "v8", types.OCIManifestSchema1))
	through := func(ref string) string { return strings.Replace(ref, reg.Host, px.Host, 1) }
	bound := 300 * time.Millisecond
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := publish.Merge(context.Background(),
			[]string{through(amd), through(arm)}, tags(t, px.Host+"/team/app:1"),
			publish.WithRequestTimeout(bound), publish.WithRetryBackoff(remote.Backoff{Steps: 1}),
		)
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the merge hangs on a stalled registry")
	}
	took := time.Since(start)
	if err == nil {
		t.Fatal("a stalled index PUT succeeded")
	}
	msg := config.Explain(err)
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "registry "+px.Host+" stopped answering") || !strings.Contains(msg, "MUSLRUST_CHEF_REGISTRY_TIMEOUT") {
		t.Errorf("error: %s", msg)
	}
	if took > bound+2*time.Second {
		t.Errorf("gave up after %s, bound %s", took, bound)
	}
	if ts := listTags(t, reg.Host+"/team/app"); len(ts) != 0 {
		t.Errorf("tags pushed: %v", ts)
	}
	t.Logf("stalled merge given up after %s: %s", took.Round(time.Millisecond), msg)
}
