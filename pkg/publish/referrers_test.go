package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/muslrust-chef/muslrust-chef/internal/testinfra"
)

// referrerRegistries are the two paths: Debian's docker-registry (no
// referrers API: the sha256-<digest> fallback tag) and go-containerregistry's
// own registry with the referrers API on.
func referrerRegistries(t *testing.T) map[string]string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return map[string]string{
		"docker-registry": testinfra.Registry(t),
		"referrers-api":   "localhost:" + srv.URL[strings.LastIndex(srv.URL, ":")+1:],
	}
}

func TestAttachAndReadReferrers(t *testing.T) {
	for kind, addr := range referrerRegistries(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			ref := fmt.Sprintf("%s/referrers/%s-%d:v1", addr, kind, time.Now().UnixNano())
			tg := tags(t, ref)
			reg, _ := NewRegistry(tg, fastRetry)
			idx := twoPlatformIndex(t)
			if _, err := reg.Publish(ctx, idx); err != nil {
				t.Fatal(err)
			}
			im, _ := idx.IndexManifest()
			repo := tg[0].Repository
			docs := map[string][]byte{}
			for _, d := range im.Manifests {
				arch := d.Platform.Architecture
				docs[arch+"/cdx"] = []byte(`{"bomFormat":"CycloneDX","arch":"` + arch + `"}`)
				docs[arch+"/spdx"] = []byte(`{"spdxVersion":"SPDX-2.3","arch":"` + arch + `"}`)
				arts := []Artifact{
					{ArtifactType: "application/vnd.cyclonedx+json", Data: docs[arch+"/cdx"], Title: "app.cdx.json"},
					{ArtifactType: "application/spdx+json", Data: docs[arch+"/spdx"], Annotations: map[string]string{"dev.muslrust-chef.format": "spdx"}},
				}
				sub := repo.Digest(d.Digest.String())
				first, err := Attach(ctx, sub, arts, fastRetry)
				if err != nil {
					t.Fatal(err)
				}
				// Same record again: same manifests, no new entry.
				again, err := Attach(ctx, sub, arts, fastRetry)
				if err != nil {
					t.Fatal(err)
				}
				for i := range first {
					if first[i].Digest != again[i].Digest {
						t.Errorf("re-attaching gave manifest %s, first time %s: not deterministic", again[i].Digest, first[i].Digest)
					}
					raw, err := remote.Get(repo.Digest(first[i].Digest.String()))
					if err != nil {
						t.Fatal(err)
					}
					var m struct {
						ArtifactType string         `json:"artifactType"`
						Subject      *v1.Descriptor `json:"subject"`
						Config       v1.Descriptor  `json:"config"`
						Layers       []v1.Descriptor
					}
					if err := json.Unmarshal(raw.Manifest, &m); err != nil {
						t.Fatal(err)
					}
					if m.Subject == nil || m.Subject.Digest != d.Digest || m.Subject.MediaType != d.MediaType || m.Subject.Size != d.Size {
						t.Errorf("artifact subject = %+v, want the %s manifest %s", m.Subject, arch, d.Digest)
					}
					if m.ArtifactType != arts[i].ArtifactType || string(m.Config.MediaType) != arts[i].ArtifactType || len(m.Layers) != 1 {
						t.Errorf("artifact manifest: artifactType %q config %q layers %d, want %q twice and one layer", m.ArtifactType, m.Config.MediaType, len(m.Layers), arts[i].ArtifactType)
					}
				}
				refs, err := remote.Referrers(sub)
				if err != nil {
					t.Fatal(err)
				}
				rim, _ := refs.IndexManifest()
				if len(rim.Manifests) != 2 {
					t.Errorf("%s: %d referrers after attaching twice, want 2: %+v", arch, len(rim.Manifests), rim.Manifests)
				}
				// The fallback tag is there exactly when the registry
				// lacks the referrers API.
				fallback := repo.Tag(strings.Replace(d.Digest.String(), ":", "-", 1))
				fd, err := remote.Get(fallback)
				if kind == "docker-registry" {
					if err != nil {
						t.Fatalf("fallback tag %s: %v", fallback, err)
					}
					fi, _ := fd.ImageIndex()
					fim, _ := fi.IndexManifest()
					if fd.MediaType != types.OCIImageIndex || len(fim.Manifests) != 2 {
						t.Errorf("fallback tag %s: %s with %d entries, want an OCI index of 2", fallback, fd.MediaType, len(fim.Manifests))
					}
				} else if err == nil {
					t.Errorf("fallback tag %s written although the registry has the referrers API", fallback)
				}
			}

			// Read back: CycloneDX preferred, SPDX when asked first.
			for _, order := range [][]string{{"application/vnd.cyclonedx+json", "application/spdx+json"}, {"application/spdx+json"}} {
				recs, err := ReadRecords(ctx, ref, order, fastRetry)
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) != 2 {
					t.Fatalf("%d records, want 2", len(recs))
				}
				for _, r := range recs {
					want := docs[r.Platform.Architecture+"/cdx"]
					if order[0] == "application/spdx+json" {
						want = docs[r.Platform.Architecture+"/spdx"]
					}
					if r.ArtifactType != order[0] || string(r.Data) != string(want) || r.Others != 0 {
						t.Errorf("%s: read %s %q (%d others), want %s %q", r.Platform, r.ArtifactType, r.Data, r.Others, order[0], want)
					}
				}
			}
			recs, err := ReadRecords(ctx, ref, []string{"application/vnd.in-toto+json"}, fastRetry)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if r.ArtifactType != "" || r.Data != nil {
					t.Errorf("%s: found %s where none is attached", r.Platform, r.ArtifactType)
				}
			}
		})
	}
}

func TestReadRecordsErrors(t *testing.T) {
	addr := testinfra.Registry(t)
	down := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	cases := map[string]struct{ ref, want string }{
		"missing image": {addr + "/referrers/never-pushed:v1", "not found in registry " + addr + ": check the repository and tag"},
		"registry down": {down + "/team/app:v1", "registry " + down + " is unreachable while reading " + down + "/team/app:v1"},
		"bad reference": {"Team/App:v1", `"Team/App:v1" is not an image reference`},
	}
	for n, tc := range cases {
		t.Run(n, func(t *testing.T) {
			_, err := ReadRecords(context.Background(), tc.ref, []string{"application/vnd.cyclonedx+json"}, WithRetryBackoff(noRetry))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error = %v, want one line containing %q", err, tc.want)
			}
			// A missing image stays recognisable (the build's "why did
			// cook run" calls it a first push).
			if missing := Classify(err).Kind == NotFound; missing != (n == "missing image") {
				t.Errorf("Classify(%v) NotFound = %t", err, missing)
			}
		})
	}
	// Attaching to a subject that does not exist says so.
	sub, _ := name.NewDigest(addr + "/referrers/never-pushed@sha256:" + strings.Repeat("0", 64))
	_, err := Attach(context.Background(), sub, []Artifact{{ArtifactType: "application/spdx+json", Data: []byte("{}")}}, WithRetryBackoff(noRetry))
	if err == nil || !strings.Contains(err.Error(), "not found in registry") {
		t.Errorf("attaching to a missing subject: %v", err)
	}
}
