package regtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Request is one answered registry request, reduced to what an ordering
// assertion needs.
type Request struct {
	Method string
	Repo   string // repository name, e.g. "team/app"
	Kind   string // "manifest", "blob", "upload" or "other"
	// Ref is the manifest's tag or digest, the blob's digest, or for an
	// upload the digest it completes (PUT ?digest=) or mounts (POST ?mount=).
	Ref    string
	Status int
}

func (q Request) String() string {
	return fmt.Sprintf("%s %s %s %s -> %d", q.Method, q.Kind, q.Repo, q.Ref, q.Status)
}

func (r *Registry) record(req *http.Request, status int) {
	q := parse(req)
	q.Status = status
	r.mu.Lock()
	r.log = append(r.log, q)
	r.mu.Unlock()
}

// parse reduces req to a Request, without its status.
func parse(req *http.Request) Request {
	q := Request{Method: req.Method, Kind: "other"}
	path := strings.TrimPrefix(req.URL.Path, "/v2/")
	switch {
	case strings.Contains(path, "/blobs/uploads"):
		q.Kind = "upload"
		q.Repo = path[:strings.LastIndex(path, "/blobs/uploads")]
		q.Ref = req.URL.Query().Get("digest")
		if m := req.URL.Query().Get("mount"); m != "" {
			q.Ref = m
		}
	case strings.Contains(path, "/manifests/"):
		i := strings.LastIndex(path, "/manifests/")
		q.Kind, q.Repo, q.Ref = "manifest", path[:i], path[i+len("/manifests/"):]
	case strings.Contains(path, "/blobs/"):
		i := strings.LastIndex(path, "/blobs/")
		q.Kind, q.Repo, q.Ref = "blob", path[:i], path[i+len("/blobs/"):]
	}
	return q
}

// Log returns the requests answered so far, in the order they finished.
func (r *Registry) Log() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.log...)
}

// ResetLog forgets the requests answered so far.
func (r *Registry) ResetLog() {
	r.mu.Lock()
	r.log = nil
	r.mu.Unlock()
}

// AssertPushOrder fails the test unless log shows idx published safely in
// repo: every layer and config blob of a platform image stored before that
// image's manifest, every platform manifest stored before the index, the
// index stored by digest, and each tag written only after that and once.
func AssertPushOrder(t testing.TB, log []Request, repo string, idx v1.ImageIndex, tags ...string) {
	t.Helper()
	problems, err := PushOrderProblems(log, repo, idx, tags...)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		var b strings.Builder
		for _, q := range log {
			b.WriteString("\n  " + q.String())
		}
		t.Errorf("unsafe push order:\n  %s\nrequests:%s", strings.Join(problems, "\n  "), b.String())
	}
}

// PushOrderProblems is AssertPushOrder's check: one line per violation.
func PushOrderProblems(log []Request, repo string, idx v1.ImageIndex, tags ...string) ([]string, error) {
	idxDigest, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	// stored returns when the registry first held digest: a completed
	// upload or mount, a manifest PUT by digest, or a HEAD/GET that found
	// it already there. -1 if never.
	stored := func(kind, digest string) int {
		for i, q := range log {
			if q.Repo != repo || q.Ref != digest {
				continue
			}
			switch {
			case kind == "blob" && q.Kind == "upload" && q.Status == http.StatusCreated,
				kind == "blob" && q.Kind == "blob" && (q.Method == http.MethodHead || q.Method == http.MethodGet) && q.Status == http.StatusOK,
				kind == "manifest" && q.Kind == "manifest" && q.Method == http.MethodPut && q.Status == http.StatusCreated,
				kind == "manifest" && q.Kind == "manifest" && (q.Method == http.MethodHead || q.Method == http.MethodGet) && q.Status == http.StatusOK:
				return i
			}
		}
		return -1
	}
	var problems []string
	indexAt := -1
	for i, q := range log {
		if q.Repo == repo && q.Kind == "manifest" && q.Method == http.MethodPut && q.Ref == idxDigest.String() && q.Status == http.StatusCreated {
			indexAt = i
			break
		}
	}
	if indexAt < 0 {
		return []string{"the index " + idxDigest.String() + " was never PUT by digest in " + repo}, nil
	}
	for _, m := range im.Manifests {
		at := stored("manifest", m.Digest.String())
		switch {
		case at < 0:
			problems = append(problems, fmt.Sprintf("platform manifest %s never stored", m.Digest))
			continue
		case at > indexAt:
			problems = append(problems, fmt.Sprintf("platform manifest %s stored (request %d) after the index (request %d)", m.Digest, at, indexAt))
		}
		if !m.MediaType.IsImage() {
			continue
		}
		img, err := idx.Image(m.Digest)
		if err != nil {
			return nil, err
		}
		mf, err := img.Manifest()
		if err != nil {
			return nil, err
		}
		for _, blob := range append([]v1.Descriptor{mf.Config}, mf.Layers...) {
			b := stored("blob", blob.Digest.String())
			switch {
			case b < 0:
				problems = append(problems, fmt.Sprintf("blob %s of %s never stored", blob.Digest, m.Digest))
			case b > at:
				problems = append(problems, fmt.Sprintf("blob %s stored (request %d) after its manifest %s (request %d)", blob.Digest, b, m.Digest, at))
			}
		}
	}
	for _, tag := range tags {
		var puts []int
		for i, q := range log {
			if q.Repo == repo && q.Kind == "manifest" && q.Method == http.MethodPut && q.Ref == tag && q.Status == http.StatusCreated {
				puts = append(puts, i)
			}
		}
		switch {
		case len(puts) == 0:
			problems = append(problems, "tag "+tag+" never written")
		case len(puts) > 1:
			problems = append(problems, fmt.Sprintf("tag %s written %d times", tag, len(puts)))
		case puts[0] < indexAt:
			problems = append(problems, fmt.Sprintf("tag %s moved (request %d) before the index was stored (request %d)", tag, puts[0], indexAt))
		}
	}
	return problems, nil
}
