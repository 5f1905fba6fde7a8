package buildkit

import (
	"context"
	"fmt"
	"strings"

	"github.com/distribution/reference"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
)

// Error is a one-line error for the user that keeps BuildKit's original
// error for errors.Is/As (context.Canceled, grpc status, ...).
type Error struct {
	Msg string
	Err error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Fragments of BuildKit/containerd error text that identify a registry
// refusing credentials, and a registry that cannot be reached at all.
var (
	authFailures = []string{"401 unauthorized", "403 forbidden", "unauthorized", "authorization failed",
		"failed to authorize", "no basic auth credentials", "denied: "}
	netFailures = []string{"connection refused", "no such host", "i/o timeout", "network is unreachable",
		"connection reset", "server gave http response to https client", "tls: ", "x509: "}
)

// solveError turns a failed solve into one line saying what went wrong and
// what to do.
func (b *builder) solveError(ctx context.Context, req Request, err error) error {
	if ctx.Err() != nil {
		// Keep context.Canceled / DeadlineExceeded reachable with errors.Is.
		return &Error{Msg: "build cancelled: " + context.Cause(ctx).Error(), Err: fmt.Errorf("%w (%w)", context.Cause(ctx), err)}
	}
	msg := strings.TrimPrefix(oneline.Lines(err), "failed to solve: ")
	lower := strings.ToLower(msg)
	host := registryIn(lower, req)
	switch {
	case host != "" && containsAny(lower, authFailures):
		return &Error{Err: err, Msg: fmt.Sprintf("registry %s refused the credentials (%s): run `docker login %s` with an account that may push there (credentials come from %s/config.json or DOCKER_CONFIG)",
			host, msg, host, b.cfg.configDir())}
	case host != "" && containsAny(lower, netFailures):
		return &Error{Err: err, Msg: fmt.Sprintf("cannot reach registry %s (%s): check the image name and that the registry is up; a plain-HTTP registry must be marked insecure in buildkitd.toml", host, msg)}
	case containsAny(lower, []string{"connection error", "error reading from server", "transport is closing", "unavailable desc"}):
		return &Error{Err: err, Msg: fmt.Sprintf("lost the connection to %s during the build (%s): check that buildkitd is still running (its log says why it stopped)", b.endpoint.Describe(), msg)}
	}
	return &Error{Err: err, Msg: fmt.Sprintf("build failed on %s: %s: see the progress output above for the failing step", b.endpoint.Describe(), msg)}
}

// registryIn returns the registry host of the request that the error text
// mentions, or the only registry the request uses.
func registryIn(lowerMsg string, req Request) string {
	var refs []string
	if req.Image != nil {
		refs = append(refs, req.Image.Names...)
	}
	refs = append(refs, req.CacheFrom...)
	if req.CacheTo != "" {
		refs = append(refs, req.CacheTo)
	}
	var hosts []string
	seen := map[string]bool{}
	for _, r := range refs {
		named, err := reference.ParseNormalizedNamed(r)
		if err != nil {
			continue
		}
		h := reference.Domain(named)
		if !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	for _, h := range hosts {
		if strings.Contains(lowerMsg, strings.ToLower(h)) {
			return h
		}
	}
	if len(hosts) == 1 {
		return hosts[0]
	}
	return ""
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
