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

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
)

// Kind is what went wrong talking to a registry.
type Kind int

// The kinds, in the order Classify tries them: the first that matches wins.
const (
	// Other: none of the below; Status may still hold the registry's answer.
	Other Kind = iota
	// Canceled: the caller's context was canceled.
	Canceled
	// Timeout: a request got no response in time (a response-header or
	// dial timeout). It also matches context.DeadlineExceeded.
	Timeout
	// Deadline: a context deadline ended the work, not one request.
	Deadline
	// Denied: the registry refused the credentials (HTTP 401 or 403).
	Denied
	// NotFound: the registry answered HTTP 404.
	NotFound
	// Reset: the connection was reset (ECONNRESET).
	Reset
	// Closed: the connection was closed mid-request (EOF, EPIPE).
	Closed
	// ServerError: the registry answered HTTP 5xx.
	ServerError
	// Unreachable: the registry's name did not resolve or the connection
	// could not be opened.
	Unreachable
)

// Problem is a registry error taken apart, for a caller to say it in its
// own words (Explain is the default wording).
type Problem struct {
	Kind Kind
	// Status is the registry's HTTP status; 0 when it did not answer.
	Status int
	// Registry is the host the failed request went to, when the error
	// names it.
	Registry string
	// Request names the failed request: "blob upload", "manifest upload
	// (1.0)", "registry ping"...; "request" when unknown.
	Request string
	// Detail is the cause on one line, without the request's URL.
	Detail string
	// Socket: a *net.OpError or *net.DNSError is in the chain (the
	// failure happened on the connection, whatever its kind).
	Socket bool
	// Network: a net.Error is in the chain (no answer came: refused,
	// reset, timed out, unresolved...); a registry's HTTP error is not one.
	Network bool
}

// Classify takes a go-containerregistry error apart. It is the one place
// that knows which errors mean what; callers keep their own wording.
func Classify(err error) Problem {
	p := Problem{Request: "request"}
	if err == nil {
		return p
	}
	var terr *transport.Error
	var operr *net.OpError
	var dnserr *net.DNSError
	var uerr *url.Error
	var nerr net.Error
	if errors.As(err, &uerr) {
		p.Request = requestKind(uerr)
		if u, perr := url.Parse(uerr.URL); perr == nil {
			p.Registry = u.Host
		}
	}
	hasT := errors.As(err, &terr)
	if hasT {
		p.Status = terr.StatusCode
		p.Request = requestOf(terr)
		if terr.Request != nil && terr.Request.URL != nil {
			p.Registry = terr.Request.URL.Host
		}
	}
	p.Detail = oneline.Err(unwrapURL(err))
	if hasT {
		p.Detail = responseText(terr)
	}
	p.Socket = errors.As(err, &operr) || errors.As(err, &dnserr)
	p.Network = errors.As(err, &nerr)
	switch {
	case errors.Is(err, context.Canceled):
		p.Kind = Canceled
	case uerr != nil && uerr.Timeout():
		p.Kind = Timeout
	case errors.Is(err, context.DeadlineExceeded):
		p.Kind = Deadline
	case hasT && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden):
		p.Kind = Denied
	case hasT && terr.StatusCode == http.StatusNotFound:
		p.Kind = NotFound
	case errors.Is(err, syscall.ECONNRESET):
		p.Kind = Reset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.EPIPE):
		p.Kind = Closed
	case hasT && terr.StatusCode >= 500:
		p.Kind = ServerError
	case dnserr != nil, operr != nil && operr.Op == "dial":
		p.Kind = Unreachable
	}
	return p
}

// Explain says on one line what went wrong with subject (what was being
// read or written, e.g. "image registry.example/team/app:1") and what to
// do. Callers with a more specific situation keep their own wording on top
// of Classify.
func Explain(subject string, err error) string {
	p := Classify(err)
	reg := "the registry"
	if p.Registry != "" {
		reg = "registry " + p.Registry
	}
	switch p.Kind {
	case Canceled, Deadline:
		return subject + ": " + p.Detail
	case Timeout:
		return fmt.Sprintf("%s stopped answering for %s: no response to the %s: check the registry's health, or raise the registry timeout for a slow one", reg, subject, p.Request)
	case Denied:
		return fmt.Sprintf("%s refused the credentials for %s (HTTP %d): run docker login %s (credentials come from the Docker config file)", reg, subject, p.Status, p.Registry)
	case NotFound:
		return fmt.Sprintf("%s not found in %s (HTTP 404): check the repository and tag", subject, reg)
	case Reset, Closed:
		return fmt.Sprintf("%s dropped the connection during the %s of %s (%s): check the registry and any proxy in front of it", reg, p.Request, subject, p.Detail)
	case ServerError:
		return fmt.Sprintf("%s answered HTTP %d to the %s of %s (%s): check the registry's logs and storage", reg, p.Status, p.Request, subject, p.Detail)
	case Unreachable:
		return fmt.Sprintf("%s is unreachable for %s (%s): check the registry host and that the registry is running", reg, subject, p.Detail)
	}
	return fmt.Sprintf("%s: %s", subject, p.Detail)
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
	msg := oneline.Err(terr)
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
