package publish

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Registry pushes to a registry: every platform manifest, then the index by
// digest, then each tag, so a tag never points at a half-pushed index.
type Registry struct {
	tags      []name.Tag
	keychain  authn.Keychain
	transport http.RoundTripper
	backoff   remote.Backoff
}

// RegistryOption configures a Registry publisher.
type RegistryOption func(*Registry)

// WithRegistryKeychain sets where credentials come from (default: the Docker
// config file and its credential helpers).
func WithRegistryKeychain(k authn.Keychain) RegistryOption {
	return func(r *Registry) { r.keychain = k }
}

// WithRegistryTransport sets the HTTP transport.
func WithRegistryTransport(t http.RoundTripper) RegistryOption {
	return func(r *Registry) { r.transport = t }
}

// DefaultRetry is how a Registry retries a request that failed in a
// transient way (a 408, 429 or 5xx answer, a reset connection): five
// attempts, 0.5 s, 1 s, 2 s and 4 s apart (10% jitter).
var DefaultRetry = remote.Backoff{Duration: 500 * time.Millisecond, Factor: 2.0, Jitter: 0.1, Steps: 5}

// NoRetry makes every request a single attempt.
var NoRetry = remote.Backoff{Steps: 1}

// WithRetryBackoff sets how transient registry errors are retried: Steps is
// the number of attempts per request (at least 1; NoRetry turns retrying
// off), Duration the first pause, multiplied by Factor after each attempt.
func WithRetryBackoff(b remote.Backoff) RegistryOption {
	// go-containerregistry sends nothing at all with Steps < 1.
	if b.Steps < 1 {
		b.Steps = 1
	}
	return func(r *Registry) { r.backoff = b }
}

// NewRegistry returns a publisher for tags, which must share one repository.
func NewRegistry(tags []name.Tag, opts ...RegistryOption) (*Registry, error) {
	if len(tags) == 0 {
		return nil, errors.New("no image name: set MUSLRUST_CHEF_IMAGE to push to a registry")
	}
	r := &Registry{
		tags:     tags,
		keychain: authn.DefaultKeychain,
		backoff:  DefaultRetry,
	}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

func (r *Registry) remoteOptions(ctx context.Context) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(r.keychain),
		remote.WithRetryBackoff(r.backoff),
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout),
	}
	if r.transport != nil {
		opts = append(opts, remote.WithTransport(r.transport))
	}
	return opts
}

// Publish implements Publisher.
func (r *Registry) Publish(ctx context.Context, idx v1.ImageIndex) (Result, error) {
	d, err := idx.Digest()
	if err != nil {
		return Result{}, err
	}
	repo := r.tags[0].Repository
	byDigest := repo.Digest(d.String())
	opts := r.remoteOptions(ctx)
	if err := remote.WriteIndex(byDigest, idx, opts...); err != nil {
		return Result{}, RegistryError(repo.RegistryStr(), repo.Name(), err)
	}
	for _, t := range r.tags {
		if err := remote.Tag(t, idx, opts...); err != nil {
			return Result{}, RegistryError(repo.RegistryStr(), t.Name(), err)
		}
	}
	return Result{Reference: byDigest.String(), Digest: d}, nil
}

// Close implements Publisher.
func (r *Registry) Close() error { return nil }

// RegistryError turns a registry client error into one line saying what is
// wrong and what to do.
func RegistryError(registry, what string, err error) error {
	var terr *transport.Error
	var operr *net.OpError
	var dnserr *net.DNSError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("pushing %s: %w", what, err)
	case errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden):
		return fmt.Errorf("registry %s refused the credentials for %s (HTTP %d): run docker login %s (credentials come from the Docker config file)", registry, what, terr.StatusCode, registry)
	case errors.As(err, &dnserr), errors.As(err, &operr):
		return fmt.Errorf("registry %s is unreachable while pushing %s (%s): check the registry host in MUSLRUST_CHEF_IMAGE and that the registry is running", registry, what, oneLine(err))
	}
	return fmt.Errorf("pushing %s to %s failed: %s", what, registry, oneLine(err))
}
