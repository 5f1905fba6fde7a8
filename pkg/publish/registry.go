package publish

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// Registry pushes to a registry: every platform manifest, then the index by
// digest, then the records (WithReferrers), then each tag, so a tag never
// points at a half-pushed index or at an image without its records.
type Registry struct {
	tags           []name.Tag
	backoff        remote.Backoff
	requestTimeout time.Duration
	pushTimeout    time.Duration
	// referrers are the records to attach, by platform manifest digest.
	referrers map[v1.Hash][]Artifact
}

// Default deadlines: a registry that takes a request and never answers
// (seen with proxies that accept the index PUT and stall) must not hang a
// CI job forever.
const (
	// DefaultRequestTimeout is how long one request may wait for the
	// registry's response after it was sent (the upload itself is not
	// limited by it, only the wait for the answer). Generous, because a
	// registry on object storage may copy a large blob before it answers
	// the upload's final PUT.
	DefaultRequestTimeout = 2 * time.Minute
	// DefaultPushTimeout bounds a whole push, uploads included.
	DefaultPushTimeout = 30 * time.Minute
)

// errPushDeadline is the cause of the push's own deadline, told apart from
// the caller's cancellation.
var errPushDeadline = errors.New("push deadline")

// RegistryOption configures a Registry publisher.
type RegistryOption func(*Registry)

// DefaultRetry is how a Registry retries a request that failed in a
// transient way (a 408, 429 or 5xx answer, a reset connection): five
// attempts, 0.5 s, 1 s, 2 s and 4 s apart (10% jitter).
var DefaultRetry = remote.Backoff{Duration: 500 * time.Millisecond, Factor: 2.0, Jitter: 0.1, Steps: 5}

// WithRetryBackoff sets how transient registry errors are retried: Steps is
// the number of attempts per request (at least 1; 1 turns retrying off),
// Duration the first pause, multiplied by Factor after each attempt.
func WithRetryBackoff(b remote.Backoff) RegistryOption {
	// go-containerregistry sends nothing at all with Steps < 1.
	if b.Steps < 1 {
		b.Steps = 1
	}
	return func(r *Registry) { r.backoff = b }
}

// WithRequestTimeout sets how long each registry request waits for the
// response once sent (default DefaultRequestTimeout; 0 or less: no limit).
// A request that times out is not retried (the registry may still be
// working on it), so a push fails that long after the registry stopped
// answering (or after the push timeout, when that is shorter).
func WithRequestTimeout(d time.Duration) RegistryOption {
	return func(r *Registry) { r.requestTimeout = d }
}

// WithPushTimeout bounds the whole push, uploads included (default
// DefaultPushTimeout; 0 or less: no limit).
func WithPushTimeout(d time.Duration) RegistryOption {
	return func(r *Registry) { r.pushTimeout = d }
}

// WithReferrers attaches records (SBOMs, provenance) to the platform
// manifests whose digests key the map, as part of the publish: a registry
// push writes the platform manifests and the index by digest, then every
// referrer, then the tags, so a failed attach returns before any tag moves;
// PushByDigest attaches the pushed platform's records after its manifest;
// an oci:DIR layout (New) stores them beside the index, committed together.
// tar and docker outputs hold no referrers. A key that is not a platform
// manifest of the published index is an error, before anything is written.
func WithReferrers(m map[v1.Hash][]Artifact) RegistryOption {
	return func(r *Registry) { r.referrers = m }
}

// NewRegistry returns a publisher for tags, which must share one repository.
func NewRegistry(tags []name.Tag, opts ...RegistryOption) (*Registry, error) {
	if len(tags) == 0 {
		return nil, option.Usagef("no image name: set %s to push to a registry", option.Env(option.Image))
	}
	return newRegistry(tags, opts), nil
}

func newRegistry(tags []name.Tag, opts []RegistryOption) *Registry {
	r := &Registry{
		tags:    tags,
		backoff: DefaultRetry,

		requestTimeout: DefaultRequestTimeout,
		pushTimeout:    DefaultPushTimeout,
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

func (r *Registry) remoteOptions(ctx context.Context) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithRetryBackoff(r.backoff),
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout),
	}
	if t := r.timedTransport(); t != nil {
		opts = append(opts, remote.WithTransport(t))
	}
	return opts
}

// timedTransport is go-containerregistry's default transport with the
// request timeout; nil (the default itself) without one.
func (r *Registry) timedTransport() http.RoundTripper {
	ht, ok := remote.DefaultTransport.(*http.Transport)
	if !ok || r.requestTimeout <= 0 {
		return nil
	}
	ht = ht.Clone()
	ht.ResponseHeaderTimeout = r.requestTimeout
	return ht
}

// pushContext applies the push deadline.
func (r *Registry) pushContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.pushTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, r.pushTimeout, errPushDeadline)
}

// session gives another pusher in this package (Merge, ReadRecords) what
// a Registry built with opts pushes with: a context carrying the push
// deadline (cancel it when done), the remote options (credentials,
// retries, the transport with the request timeout), and the function that
// turns a failure into the one-line error naming the registry, the pushed
// thing and the knob to change.
func session(ctx context.Context, opts ...RegistryOption) (context.Context, context.CancelFunc, []remote.Option, func(registry, what string, err error) error) {
	r := newRegistry(nil, opts)
	ctx, cancel := r.pushContext(ctx)
	fail := func(registry, what string, err error) error { return r.pushError(ctx, registry, what, err) }
	return ctx, cancel, r.remoteOptions(ctx), fail
}
