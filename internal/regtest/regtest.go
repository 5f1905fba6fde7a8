// Package regtest runs go-containerregistry's in-process registry for unit
// tests, optionally behind basic auth or with injected transient failures,
// records every request it answers (so tests can assert the order of a
// push), and writes Docker config files that point credentials at it.
package regtest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Registry is a running in-process registry.
type Registry struct {
	Host     string // host:port on 127.0.0.1, which go-containerregistry talks to over HTTP
	Requests atomic.Int64
	failNext atomic.Int64
	failWhen atomic.Pointer[func(Request) bool]
	server   *httptest.Server

	mu  sync.Mutex
	log []Request
}

// Option configures New.
type Option func(*config)

type config struct {
	user, password string
	referrers      bool
}

// WithBasicAuth makes the registry demand these credentials, like a
// docker-registry with an htpasswd file.
func WithBasicAuth(user, password string) Option {
	return func(c *config) { c.user, c.password = user, password }
}

// WithReferrersAPI turns on the OCI referrers API (GET
// /v2/<repo>/referrers/<digest>); without it, clients fall back to the
// sha256-<digest> tag, as with a registry that predates the API.
func WithReferrersAPI() Option {
	return func(c *config) { c.referrers = true }
}

// New starts a registry that stops when the test ends.
func New(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	r := &Registry{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(c.referrers))
	r.server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		r.Requests.Add(1)
		w := &statusWriter{ResponseWriter: rw, status: http.StatusOK}
		defer func() { r.record(req, w.status) }()
		if f := r.failWhen.Load(); f != nil && (*f)(parse(req)) {
			http.Error(w, "injected failure", http.StatusInternalServerError)
			return
		}
		if r.failNext.Load() > 0 && r.failNext.Add(-1) >= 0 {
			http.Error(w, "injected transient failure", http.StatusServiceUnavailable)
			return
		}
		if c.user != "" {
			u, p, ok := req.BasicAuth()
			if !ok || u != c.user || p != c.password {
				w.Header().Set("WWW-Authenticate", `Basic realm="regtest"`)
				w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
		}
		inner.ServeHTTP(w, req)
	}))
	t.Cleanup(r.server.Close)
	r.Host = strings.TrimPrefix(r.server.URL, "http://")
	return r
}

// FailNext makes the next n requests answer 503.
func (r *Registry) FailNext(n int64) { r.failNext.Store(n) }

// FailWhen makes every request for which match is true answer 500 (a
// request the registry refuses for good); nil turns it off.
func (r *Registry) FailWhen(match func(Request) bool) {
	if match == nil {
		r.failWhen.Store(nil)
		return
	}
	r.failWhen.Store(&match)
}

// Close stops the registry early, to test an unreachable registry.
func (r *Registry) Close() { r.server.Close() }

// DockerConfig writes a Docker config.json with credentials for host into a
// temp dir and points DOCKER_CONFIG at it for the rest of the test.
func DockerConfig(t testing.TB, host, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	cfg := map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	return dir
}

// EmptyDockerConfig points DOCKER_CONFIG at an empty directory, so tests do
// not pick up the machine's credentials.
func EmptyDockerConfig(t testing.TB) {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// AssertAbsent fails the test unless the registry answers that ref does not
// exist (HTTP 404). Any other answer, such as an unreachable registry or
// refused credentials, fails too: it would prove nothing about ref.
func AssertAbsent(t testing.TB, ref name.Reference, opts ...remote.Option) {
	t.Helper()
	_, err := remote.Head(ref, opts...)
	var terr *transport.Error
	switch {
	case err == nil:
		t.Errorf("%s exists: a failed command pushed it", ref)
	case !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound:
		t.Errorf("cannot tell whether %s exists (want a 404): %v", ref, err)
	}
}
