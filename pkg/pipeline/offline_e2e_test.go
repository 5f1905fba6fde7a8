package pipeline

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muslrust-chef/muslrust-chef/internal/atomicdir"
	"github.com/muslrust-chef/muslrust-chef/internal/fixtures"
)

const offlineChildEnv = "MUSLRUST_CHEF_TEST_OFFLINE_CHILD"

// An OCI-layout build of an image named "app" (which a registry cache ref
// would turn into a Docker Hub ref) makes no registry request: the test
// runs the build in a child process whose every request to a public host
// goes to a proxy that records and refuses it (the test registry and
// BuildKit are local and reached directly), and BuildKit is given no cache
// import or export; the SBOMs and provenance are still written beside the
// binary and into the layout. MUSLRUST_CHEF_CACHE=local:DIR exports BuildKit's local
// cache there instead, and refuses a foreign non-empty directory.
func TestOCIBuildMakesNoRegistryRequest(t *testing.T) {
	if os.Getenv(offlineChildEnv) == "1" {
		offlineBuild(t)
		return
	}
	newDefaultEnv(t) // the stand-in is found or built here, not behind the proxy
	var mu sync.Mutex
	var asked []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Method+" "+r.Host)
		mu.Unlock()
		http.Error(w, "no route to public registries in this test", http.StatusForbidden)
	}))
	defer proxy.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestOCIBuildMakesNoRegistryRequest$", "-test.v", "-test.timeout=20m")
	cmd.Env = append(os.Environ(), offlineChildEnv+"=1",
		"HTTP_PROXY="+proxy.URL, "HTTPS_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "https_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the build behind the refusing proxy failed: %v\n%s", err, tail(string(out), 80))
	}
	if !strings.Contains(string(out), "--- PASS: TestOCIBuildMakesNoRegistryRequest") {
		t.Fatalf("the child test did not pass:\n%s", tail(string(out), 40))
	}
	t.Logf("child:\n%s", tail(string(out), 12))
	mu.Lock()
	defer mu.Unlock()
	if len(asked) > 0 {
		t.Fatalf("the build asked public hosts: %s", strings.Join(asked, ", "))
	}
}

func offlineBuild(t *testing.T) {
	clearEnv(t)
	t.Setenv("GITHUB_HEAD_REF", "")
	e := newDefaultEnv(t)
	// The small workspace (one external crate) keeps the test cheap.
	ws := filepath.Join(fixtures.CopyTree(t, testdataOutside), "repo", "app")
	ctx := context.Background()
	s := e.settings(ws, "linux/amd64", "app")
	layoutDir := filepath.Join(t.TempDir(), "oci")
	s.Output = str("oci:" + layoutDir)
	s.Cache = nil
	r, err := build(ctx, s, e.runtime(""))
	if err != nil {
		t.Fatal(err)
	}
	// The records are made offline too: beside the binary, and in the
	// layout as referrers of its platform manifest.
	distRecords(t, *s.Dist, amd64(), r.Config.Bin)
	referrerSet(t, "oci layout", r.Published.Referrers, 1)
	layoutReferrers(t, layoutDir, r.Published.Referrers)
	if len(r.Cache.Imports()) > 0 || r.Cache.Exports() || r.CacheDir != "" {
		t.Fatalf("cache %+v dir %q, want none for an OCI layout output", r.Cache, r.CacheDir)
	}
	if !strings.Contains(e.log.String(), "build: no remote cache (the output is oci:") {
		t.Fatalf("log does not say there is no remote cache:\n%s", e.log.String())
	}
	for _, v := range r.Solve.Vertexes {
		if strings.Contains(strings.ToLower(v.Name), "cache") {
			t.Fatalf("BuildKit ran %q, want no cache import or export", v.Name)
		}
	}

	// local:DIR: BuildKit's local cache exporter, written beside and renamed in.
	dir := filepath.Join(t.TempDir(), "cache")
	s.Cache = str("local:" + dir)
	r, err = build(ctx, s, e.runtime(""))
	if err != nil {
		t.Fatal(err)
	}
	if r.CacheDir != dir || len(r.Cache.Imports()) > 0 || r.Cache.Rest.To != "" || r.Cache.Cook.To != "" {
		t.Fatalf("local cache: dir %q, registry %+v", r.CacheDir, r.Cache)
	}
	// The cook ran (or its cache was not there yet): both parts exported.
	for _, part := range []string{"cook", "rest"} {
		if _, err := os.Stat(filepath.Join(dir, part, "index.json")); err != nil {
			t.Fatalf("local cache %s not exported: %v", part, err)
		}
		blobs, _ := filepath.Glob(filepath.Join(dir, part, "blobs", "sha256", "*"))
		if len(blobs) < 3 {
			t.Fatalf("local cache %s holds %d blobs", part, len(blobs))
		}
	}
	for _, d := range []string{filepath.Dir(dir), dir} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if atomicdir.IsTemp(e.Name()) {
				t.Fatalf("temporary cache directory left behind: %s", e.Name())
			}
		}
	}
	if !strings.Contains(e.log.String(), "build: local cache: import and export "+dir) {
		t.Fatalf("log does not name the local cache:\n%s", e.log.String())
	}

	foreign := t.TempDir()
	fixtures.WriteFile(t, foreign, "notes.txt", "mine\n")
	s.Cache = str("local:" + foreign)
	_, err = build(ctx, s, e.runtime(""))
	if err == nil || !strings.Contains(err.Error(), "is a non-empty directory muslrust-chef did not write") {
		t.Fatalf("a foreign cache directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(foreign, "notes.txt")); err != nil {
		t.Fatalf("the foreign directory was touched: %v", err)
	}
}
