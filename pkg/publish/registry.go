package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
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
	tags           []name.Tag
	keychain       authn.Keychain
	transport      http.RoundTripper
	backoff        remote.Backoff
	requestTimeout time.Duration
	pushTimeout    time.Duration
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

// WithRequestTimeout sets how long each registry request waits for the
// response once sent (default DefaultRequestTimeout; 0 or less: no limit).
// A request that times out is not retried (the registry may still be
// working on it), so the push fails StallBound after the registry stopped
// answering.
func WithRequestTimeout(d time.Duration) RegistryOption {
	return func(r *Registry) { r.requestTimeout = d }
}

// WithPushTimeout bounds the whole push, uploads included (default
// DefaultPushTimeout; 0 or less: no limit).
func WithPushTimeout(d time.Duration) RegistryOption {
	return func(r *Registry) { r.pushTimeout = d }
}

// StallBound is the longest a push waits on a registry that takes a
// request and never answers: the request timeout, or the push timeout when
// that is shorter or the request timeout is off.
func (r *Registry) StallBound() time.Duration {
	if r.requestTimeout <= 0 || (r.pushTimeout > 0 && r.pushTimeout < r.requestTimeout) {
		return r.pushTimeout
	}
	return r.requestTimeout
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

		requestTimeout: DefaultRequestTimeout,
		pushTimeout:    DefaultPushTimeout,
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
	if t := r.timedTransport(); t != nil {
		opts = append(opts, remote.WithTransport(t))
	}
	return opts
}

// timedTransport applies the request timeout to the default transport or to
// an injected *http.Transport; other injected transports are used as given.
func (r *Registry) timedTransport() http.RoundTripper {
	base := r.transport
	if base == nil {
		base = remote.DefaultTransport
	}
	ht, ok := base.(*http.Transport)
	if !ok || r.requestTimeout <= 0 {
		return r.transport
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

// pushError says what went wrong, naming the push deadline when it was
// ours that ended the push rather than the caller's context.
func (r *Registry) pushError(ctx context.Context, registry, what string, err error) error {
	if errors.Is(context.Cause(ctx), errPushDeadline) {
		return fmt.Errorf("pushing %s to registry %s did not finish within %s: the registry is too slow or stalled; check it, or raise MUSLRUST_CHEF_PUSH_TIMEOUT", what, registry, r.pushTimeout)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("pushing %s: %w", what, ctx.Err())
	}
	return RegistryError(registry, what, err)
}

// Session gives another pusher (pkg/merge) what a Registry built with opts
// pushes with: a context carrying the push deadline (cancel it when done),
// the remote options (credentials, retries, the transport with the request
// timeout), and the function that turns a failure into the one-line error
// naming the registry, the pushed thing and the knob to change.
func Session(ctx context.Context, opts ...RegistryOption) (context.Context, context.CancelFunc, []remote.Option, func(registry, what string, err error) error) {
	r := &Registry{keychain: authn.DefaultKeychain, backoff: DefaultRetry, requestTimeout: DefaultRequestTimeout, pushTimeout: DefaultPushTimeout}
	for _, o := range opts {
		o(r)
	}
	ctx, cancel := r.pushContext(ctx)
	fail := func(registry, what string, err error) error { return r.pushError(ctx, registry, what, err) }
	return ctx, cancel, r.remoteOptions(ctx), fail
}

// Publish implements Publisher.
func (r *Registry) Publish(ctx context.Context, idx v1.ImageIndex) (Result, error) {
	d, err := idx.Digest()
	if err != nil {
		return Result{}, err
	}
	repo := r.tags[0].Repository
	byDigest := repo.Digest(d.String())
	ctx, cancel := r.pushContext(ctx)
	defer cancel()
	opts := r.remoteOptions(ctx)
	if err := remote.WriteIndex(byDigest, idx, opts...); err != nil {
		// Named by its tag: that is what the user will look for.
		return Result{}, r.pushError(ctx, repo.RegistryStr(), displayName(r.tags[0]), err)
	}
	for _, t := range r.tags {
		if err := remote.Tag(t, idx, opts...); err != nil {
			return Result{}, r.pushError(ctx, repo.RegistryStr(), t.Name(), err)
		}
	}
	return Result{Reference: byDigest.String(), Digest: d}, nil
}

// PushImage pushes one image by digest (no tag) to the repository of the
// first tag, with the same credentials, retries and deadlines as Publish.
func (r *Registry) PushImage(ctx context.Context, img v1.Image) (Result, error) {
	d, err := img.Digest()
	if err != nil {
		return Result{}, err
	}
	repo := r.tags[0].Repository
	byDigest := repo.Digest(d.String())
	ctx, cancel := r.pushContext(ctx)
	defer cancel()
	if err := remote.Write(byDigest, img, r.remoteOptions(ctx)...); err != nil {
		return Result{}, r.pushError(ctx, repo.RegistryStr(), repo.Name(), err)
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
	var uerr *url.Error
	req := ""
	if errors.As(err, &uerr) {
		req = requestKind(uerr)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("pushing %s: %w", what, err)
	case uerr != nil && uerr.Timeout():
		// A response timeout also matches context.DeadlineExceeded.
		return fmt.Errorf("registry %s stopped answering while pushing %s: no response to the %s (%s): check the registry's health, or raise MUSLRUST_CHEF_REGISTRY_TIMEOUT for a slow one", registry, what, req, oneLine(uerr.Err))
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("pushing %s: %w", what, err)
	case errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden):
		return fmt.Errorf("registry %s refused the credentials for %s (HTTP %d): run docker login %s (credentials come from the Docker config file)", registry, what, terr.StatusCode, registry)
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("registry %s reset the connection during the %s of %s on every try (%s): check the registry and any proxy in front of it (body size limits, idle timeouts)", registry, req, what, oneLine(unwrapURL(err)))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.EPIPE):
		return fmt.Errorf("registry %s closed the connection during the %s of %s on every try (%s): check the registry and any proxy in front of it", registry, req, what, oneLine(unwrapURL(err)))
	case errors.As(err, &terr) && terr.StatusCode >= 500:
		return fmt.Errorf("registry %s answered HTTP %d to the %s of %s on every try (%s): check the registry's logs and storage; no tag was moved", registry, terr.StatusCode, requestOf(terr), what, responseText(terr))
	case errors.As(err, &dnserr), errors.As(err, &operr) && operr.Op == "dial":
		return fmt.Errorf("registry %s is unreachable while pushing %s (%s): check the registry host in MUSLRUST_CHEF_IMAGE and that the registry is running", registry, what, oneLine(err))
	}
	return fmt.Errorf("pushing %s to %s failed: %s", what, registry, oneLine(err))
}

// unwrapURL drops the request URL from an error (the message names the
// request already).
func unwrapURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// requestOf names the request of a registry error response.
func requestOf(terr *transport.Error) string {
	if terr.Request == nil {
		return "request"
	}
	return requestKind(&url.Error{Op: terr.Request.Method, URL: terr.Request.URL.String()})
}

// responseText is the registry's answer without the request line.
func responseText(terr *transport.Error) string {
	msg := oneLine(terr)
	if terr.Request != nil {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			return rest
		}
	}
	return msg
}

// requestKind names the registry request that failed, so an error says
// what was being done rather than only that the network failed.
func requestKind(uerr *url.Error) string {
	u, err := url.Parse(uerr.URL)
	if err != nil {
		return "request"
	}
	p := u.Path
	switch {
	case strings.Contains(p, "/blobs/uploads"):
		return "blob upload"
	case strings.Contains(p, "/blobs/"):
		return "blob check"
	case strings.Contains(p, "/manifests/"):
		ref := p[strings.LastIndex(p, "/manifests/")+len("/manifests/"):]
		if strings.EqualFold(uerr.Op, "put") {
			return "manifest upload (" + ref + ")"
		}
		return "manifest check (" + ref + ")"
	case strings.HasSuffix(p, "/v2/") || strings.HasSuffix(p, "/v2"):
		return "registry ping"
	}
	return "request " + uerr.Op + " " + p
}
