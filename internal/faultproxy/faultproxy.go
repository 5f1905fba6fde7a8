// Package faultproxy puts a fault-injecting proxy on 127.0.0.1 in front of a
// real registry (HTTP) or a real BuildKit socket (a byte stream), so tests
// see what users see when the network or a daemon misbehaves: 503s,
// connection resets, a server that takes a request and never answers, a
// daemon that dies mid-build.
package faultproxy

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// Action is what a rule does to a matching request.
type Action int

const (
	// Status503 answers 503 Service Unavailable.
	Status503 Action = iota
	// Status500 answers 500 Internal Server Error.
	Status500
	// Reset reads the request, then resets the TCP connection (RST).
	Reset
	// Stall reads the request and never answers until the proxy closes.
	Stall
)

func (a Action) String() string {
	return [...]string{"503", "500", "reset", "stall"}[a]
}

// Rule applies Action to the first Times requests whose method matches
// Method ("" any), whose path contains Path and whose Content-Type contains
// ContentType (an index manifest: "image.index"); Times < 0 means every one.
type Rule struct {
	Method      string
	Path        string
	ContentType string
	Action      Action
	Times       int

	hits atomic.Int64
}

// Hits is how many requests the rule acted on.
func (r *Rule) Hits() int64 { return r.hits.Load() }

func (r *Rule) take(req *http.Request) bool {
	if r.Method != "" && !strings.EqualFold(r.Method, req.Method) {
		return false
	}
	if !strings.Contains(req.URL.Path, r.Path) || !strings.Contains(req.Header.Get("Content-Type"), r.ContentType) {
		return false
	}
	n := r.hits.Add(1)
	if r.Times >= 0 && n > int64(r.Times) {
		r.hits.Add(-1)
		return false
	}
	return true
}

// HTTP is a reverse proxy to a registry with fault rules.
type HTTP struct {
	// Host is host:port of the proxy on 127.0.0.1.
	Host string

	mu       sync.Mutex
	rules    []*Rule
	srv      *http.Server
	ln       net.Listener
	stalled  chan struct{}
	requests atomic.Int64
}

// NewHTTP starts a proxy to the registry at target (host:port).
func NewHTTP(target string, rules ...*Rule) (*HTTP, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &url.URL{Scheme: "http", Host: target}
	p := &HTTP{Host: ln.Addr().String(), rules: rules, ln: ln, stalled: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(u)
	// Redirects (Location headers of upload sessions) name the registry;
	// rewrite them so every request of the session comes back here.
	rp.ModifyResponse = func(resp *http.Response) error {
		if loc := resp.Header.Get("Location"); loc != "" {
			resp.Header.Set("Location", strings.Replace(loc, target, p.Host, 1))
		}
		return nil
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if rule := p.match(r); rule != nil {
			p.apply(rule.Action, w, r)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go p.srv.Serve(ln)
	return p, nil
}

// SetRules replaces the rules.
func (p *HTTP) SetRules(rules ...*Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = rules
}

// Requests is how many requests reached the proxy.
func (p *HTTP) Requests() int64 { return p.requests.Load() }

func (p *HTTP) match(r *http.Request) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rule := range p.rules {
		if rule.take(r) {
			return rule
		}
	}
	return nil
}

func (p *HTTP) apply(a Action, w http.ResponseWriter, r *http.Request) {
	switch a {
	case Status503:
		io.Copy(io.Discard, r.Body)
		http.Error(w, `{"errors":[{"code":"UNAVAILABLE","message":"fault proxy: 503"}]}`, http.StatusServiceUnavailable)
	case Status500:
		io.Copy(io.Discard, r.Body)
		http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"fault proxy: 500"}]}`, http.StatusInternalServerError)
	case Reset:
		io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // close sends RST, not FIN
		}
		conn.Close()
	case Stall:
		io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		<-p.stalled
		conn.Close()
	}
}

// Close stops the proxy and releases stalled connections.
func (p *HTTP) Close() error {
	p.mu.Lock()
	select {
	case <-p.stalled:
	default:
		close(p.stalled)
	}
	p.mu.Unlock()
	return p.srv.Close()
}

// Stream forwards a unix socket to another one (BuildKit's gRPC socket) and
// can cut every connection at once, as a daemon that dies does.
type Stream struct {
	// Addr is unix://<path> of the proxy's socket.
	Addr string

	path   string
	target string
	ln     net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
	open   atomic.Int64
}

// NewStream listens on the unix socket path and forwards to target
// (unix://<path> or a path).
func NewStream(path, target string) (*Stream, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	s := &Stream{Addr: "unix://" + path, path: path, target: strings.TrimPrefix(target, "unix://"), ln: ln, conns: map[net.Conn]bool{}}
	go s.serve()
	return s, nil
}

func (s *Stream) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("unix", s.target)
		if err != nil {
			c.Close()
			continue
		}
		if !s.track(c, up) {
			continue
		}
		s.open.Add(1)
		var once sync.Once
		done := func() {
			once.Do(func() {
				c.Close()
				up.Close()
				s.untrack(c, up)
				s.open.Add(-1)
			})
		}
		go func() { io.Copy(up, c); done() }()
		go func() { io.Copy(c, up); done() }()
	}
}

func (s *Stream) track(cs ...net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		s.conns[c] = true
	}
	return true
}

func (s *Stream) untrack(cs ...net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		delete(s.conns, c)
	}
}

// Open is how many client connections are open through the proxy.
func (s *Stream) Open() int64 { return s.open.Load() }

// Kill closes every connection and stops accepting: clients see what they
// see when the daemon is killed (their streams end, new dials fail).
func (s *Stream) Kill() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = map[net.Conn]bool{}
	s.mu.Unlock()
	s.ln.Close()
	for c := range conns {
		c.Close()
	}
}

// Close is Kill; it exists so a Stream can be deferred like other closers.
func (s *Stream) Close() error {
	s.Kill()
	return nil
}

// String describes the proxy for logs.
func (s *Stream) String() string { return fmt.Sprintf("fault proxy %s -> %s", s.Addr, s.target) }
