package buildkit

import (
	"strings"
	"testing"

	"github.com/distribution/reference"
)

func TestCheckEngineAPI(t *testing.T) {
	for _, ok := range []string{"1.40", "1.41", "1.43", "1.52", "2.0"} {
		if err := checkEngineAPI("unix:///var/run/docker.sock", ok); err != nil {
			t.Errorf("API %s refused: %v", ok, err)
		}
	}
	for api, release := range map[string]string{"1.39": "Docker 18.09", "1.24": "Docker 1.12", "1.9": "unknown release"} {
		err := checkEngineAPI("unix:///var/run/docker.sock", api)
		assertOneLine(t, err)
		if err == nil {
			t.Errorf("API %s accepted", api)
			continue
		}
		for _, want := range []string{"API " + api, release, "Docker " + MinDockerVersion + " (API " + MinAPIVersion + ") or newer", HostEnv} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("API %s: error lacks %q: %v", api, want, err)
			}
		}
	}
	err := checkEngineAPI("tcp://old:2375", "")
	assertOneLine(t, err)
	if err == nil || !strings.Contains(err.Error(), "predates Docker 1.12") || !strings.Contains(err.Error(), "tcp://old:2375") {
		t.Errorf("no API version: %v", err)
	}
	// The floor is the Docker client's: a daemon it would refuse must be
	// refused here first, with the version named.
	if MinAPIVersion != "1.40" || dockerReleases[MinAPIVersion] != MinDockerVersion {
		t.Errorf("MinAPIVersion %s / MinDockerVersion %s disagree with the release table", MinAPIVersion, MinDockerVersion)
	}
}

func TestAPILess(t *testing.T) {
	cases := []struct {
		a, b string
		less bool
	}{{"1.9", "1.40", true}, {"1.40", "1.40", false}, {"1.41", "1.40", false}, {"1.100", "1.99", false}, {"1", "1.1", true}}
	for _, c := range cases {
		if got := apiLess(c.a, c.b); got != c.less {
			t.Errorf("apiLess(%s, %s) = %v", c.a, c.b, got)
		}
	}
}

func TestNeedsMissing(t *testing.T) {
	docker2010 := Capabilities{}
	got := DefaultNeeds.missing(docker2010)
	if len(got) != 3 || !strings.Contains(got[0], "named build contexts") || !strings.Contains(got[1], "several platforms") || !strings.Contains(got[2], "cache export") {
		t.Errorf("Docker 20.10 lacks: %q", got)
	}
	containerdStore := Capabilities{MultiPlatform: true, CacheExport: true, ImageExporter: true, NamedContexts: true}
	if got := DefaultNeeds.missing(containerdStore); len(got) != 0 {
		t.Errorf("containerd store lacks: %q", got)
	}
	if got := (Needs{PushByDigest: true}).missing(containerdStore); len(got) != 1 || got[0] != "push by digest" {
		t.Errorf("push by digest: %q", got)
	}
	if got := (Needs{Archives: true}).missing(docker2010); len(got) != 1 || !strings.Contains(got[0], "OCI layouts") {
		t.Errorf("archives: %q", got)
	}
	if got := (Needs{}).missing(docker2010); len(got) != 0 {
		t.Errorf("no needs: %q", got)
	}
}

func TestDefaultImagePinned(t *testing.T) {
	named, err := reference.ParseNormalizedNamed(DefaultImage)
	if err != nil {
		t.Fatal(err)
	}
	tagged, isTagged := named.(reference.Tagged)
	canonical, isCanonical := named.(reference.Canonical)
	if !isTagged || !isCanonical || reference.FamiliarName(named) != "moby/buildkit" {
		t.Fatalf("%s is not moby/buildkit pinned by tag and digest", DefaultImage)
	}
	if err := canonical.Digest().Validate(); err != nil {
		t.Error(err)
	}
	if !strings.HasPrefix(tagged.Tag(), "v0.") {
		t.Errorf("tag %s is not a release", tagged.Tag())
	}
	// A pull by digest stores no tag, so the container is created from
	// repo@digest.
	if got := runnable(DefaultImage); strings.Contains(got, ":v0.") || !strings.HasSuffix(got, "@"+canonical.Digest().String()) {
		t.Errorf("runnable(%s) = %s", DefaultImage, got)
	}
	if got := runnable("127.0.0.1:5123/bk:x"); got != "127.0.0.1:5123/bk:x" {
		t.Errorf("runnable(tag only) = %s", got)
	}
	if got := runnable("127.0.0.1:5123/bk"); got != "127.0.0.1:5123/bk:latest" {
		t.Errorf("runnable(no tag) = %s", got)
	}
}
