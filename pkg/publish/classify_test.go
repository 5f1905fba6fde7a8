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

// Classify sorts what go-containerregistry really returns, from a real
// registry and a real proxy, into the kinds the wording tables switch on.
func TestClassifyRealRegistryErrors(t *testing.T) {
	regtest.EmptyDockerConfig(t)
	reg := regtest.New(t)
	authReg := regtest.New(t, regtest.WithBasicAuth("ci", "right"))
	dead := regtest.New(t)
	deadHost := dead.Host
	dead.Close()
	proxied := func(rule *faultproxy.Rule) string {
		px, err := faultproxy.NewHTTP(reg.Host, rule)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { px.Close() })
		return px.Host
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	noRetry := WithRetryBackoff(remote.Backoff{Steps: 1})

	cases := []struct {
		name    string
		ref     string
		ctx     context.Context
		opts    []RegistryOption
		kind    Kind
		status  int
		request string
		socket  bool
	}{
		{"missing tag", reg.Host + "/team/app:nope", nil, nil, NotFound, 404, "manifest check (nope)", false},
		{"no credentials", authReg.Host + "/team/app:1", nil, nil, Denied, 401, "", false},
		{"dead registry", deadHost + "/team/app:1", nil, nil, Unreachable, 0, "registry ping", true},
		{"reset", proxied(&faultproxy.Rule{Path: "/manifests/", Action: faultproxy.Reset, Times: -1}) + "/team/app:1", nil, []RegistryOption{noRetry}, Reset, 0, "manifest check (1)", true},
		{"server error", proxied(&faultproxy.Rule{Path: "/manifests/", Action: faultproxy.Status500, Times: -1}) + "/team/app:1", nil, []RegistryOption{noRetry}, ServerError, 500, "manifest check (1)", false},
		{"stall", proxied(&faultproxy.Rule{Path: "/manifests/", Action: faultproxy.Stall, Times: -1}) + "/team/app:1", nil, []RegistryOption{noRetry, WithRequestTimeout(200 * time.Millisecond)}, Timeout, 0, "manifest check (1)", false},
		{"canceled", reg.Host + "/team/app:1", canceled, nil, Canceled, 0, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref, err := name.ParseReference(c.ref)
			if err != nil {
				t.Fatal(err)
			}
			ctx := c.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			_, err = remote.Get(ref, newRegistry(nil, c.opts).remoteOptions(ctx)...)
			if err == nil {
				t.Fatal("read succeeded")
			}
			p := Classify(err)
			if p.Kind != c.kind || p.Status != c.status || p.Socket != c.socket {
				t.Errorf("%v: %+v, want kind %d status %d socket %t", err, p, c.kind, c.status, c.socket)
			}
			if c.request != "" && p.Request != c.request {
				t.Errorf("request %q, want %q", p.Request, c.request)
			}
			if c.kind != Canceled && p.Registry != ref.Context().RegistryStr() {
				t.Errorf("registry %q, want %q", p.Registry, ref.Context().RegistryStr())
			}
			msg := Explain("image "+c.ref, err)
			t.Logf("%s", msg)
			if strings.Contains(msg, "\n") || !strings.Contains(msg, c.ref) {
				t.Errorf("explanation %q", msg)
			}
		})
	}
	if p := Classify(nil); p.Kind != Other {
		t.Errorf("nil: %+v", p)
	}
}
