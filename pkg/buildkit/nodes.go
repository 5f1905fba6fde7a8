package buildkit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/containerd/platforms"

	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// Node is one BuildKit endpoint of a build spread over several machines:
// a node of the current buildx builder, or an address given per
// architecture (WithPlatformHost).
type Node struct {
	// Name is buildx's node name, or the architecture a host was given for.
	Name string
	// Endpoint is the address (a remote node, a host) or, for a buildx
	// docker-container node, the Docker endpoint its container runs on.
	Endpoint string
	// Source says where the node came from, for messages:
	// `buildx builder "multi"`, or the option that named the host.
	Source string
	// Platforms are the platforms the node is declared for, normalised
	// ("linux/arm64"): `docker buildx create --platform`, or the host's
	// architecture. Empty: the node's own native platform decides.
	Platforms []string

	builder string // the buildx builder's name ("" for a host)
	driver  string // the buildx driver: "remote", "docker-container" ("" for a host)
}

// Describe is the node for log lines: `node "arm64" (tcp://10.0.0.7:1234,
// buildx builder "multi")`.
func (n Node) Describe() string {
	return fmt.Sprintf("node %q (%s, %s)", n.Name, n.Endpoint, n.Source)
}

// hostArches are the architectures a host can be given for, each with the
// option naming it (the kit's MUSLRUST_CHEF_BUILDKIT_HOST_<ARCH>).
var hostArches = []struct {
	arch string
	opt  option.Name
}{{"amd64", option.BuildkitHostAmd64}, {"arm64", option.BuildkitHostArm64}}

// platformHost is one WithPlatformHost.
type platformHost struct{ platform, addr, source string }

// WithPlatformHost builds platform ("linux/arm64") on the BuildKit at addr
// (BUILDKIT_HOST's syntax) when a build spreads its platforms over several
// nodes (Nodes); source names where the address came from, for messages.
// An empty address changes nothing. These hosts win over the current
// buildx builder's nodes.
func WithPlatformHost(platform, addr, source string) Option {
	return func(c *config) {
		if addr != "" {
			c.platformHosts = append(c.platformHosts, platformHost{platform: normalise(platform), addr: addr, source: source})
		}
	}
}

// HostOption is the option naming the BuildKit host of one architecture
// ("amd64", "arm64"), for messages; false when there is none.
func HostOption(arch string) (option.Name, bool) {
	for _, h := range hostArches {
		if h.arch == arch {
			return h.opt, true
		}
	}
	return "", false
}

// Nodes lists the BuildKit nodes a build may spread its platforms over:
// the hosts given per platform (WithPlatformHost), with WithHost's address
// (BUILDKIT_HOST) as one more node for the other platforms; else
// WithHost's address alone; else the nodes of the current buildx builder
// (drivers remote and docker-container), read from buildx's store under
// the Docker config directory and never written. It connects to none of
// them (ConnectNode does); an empty list means nothing is configured.
func Nodes(opts ...Option) ([]Node, error) {
	cfg := newConfig(opts)
	var nodes []Node
	for _, h := range cfg.platformHosts {
		_, arch, _ := strings.Cut(h.platform, "/")
		nodes = append(nodes, Node{Name: arch, Endpoint: h.addr, Source: h.source, Platforms: []string{h.platform}})
	}
	if cfg.host != "" {
		return append(nodes, Node{Name: cfg.hostSource, Endpoint: cfg.host, Source: cfg.hostSource}), nil
	}
	if len(nodes) > 0 {
		return nodes, nil
	}
	ng, err := cfg.currentBuildx()
	if err != nil || ng == nil {
		return nil, err
	}
	source := fmt.Sprintf("buildx builder %q", ng.Name)
	switch ng.Driver {
	case "remote", "docker-container":
	case "docker":
		format, refs := hostRefs(nil)
		return nil, option.Errorf("%s uses the docker driver, whose one Docker daemon is one node: `docker buildx create --name multi --driver remote` (or docker-container) with a node per platform, or set "+format,
			append([]any{source}, refs...)...)
	default:
		format, refs := hostRefs(nil)
		return nil, option.Errorf("%s uses the %q driver, which this kit cannot drive: `docker buildx use` a remote or docker-container builder, or set "+format,
			append([]any{source, ng.Driver}, refs...)...)
	}
	for _, bn := range ng.Nodes {
		n := Node{Name: bn.Name, Endpoint: bn.Endpoint, Source: source, builder: ng.Name, driver: ng.Driver}
		for _, p := range bn.Platforms {
			if s := platforms.Format(platforms.Normalize(p)); !contains(n.Platforms, s) {
				n.Platforms = append(n.Platforms, s)
			}
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// ConnectNode connects to one node and probes it like Connect. BuildKit's
// progress display of the node's solves has every line prefixed with
// "[<name>] " and is plain unless quiet or rawjson was asked for: several
// nodes build at once, and one terminal display per node would overwrite
// the others'. A node that does not answer is one line naming the node,
// its endpoint and what to do.
func ConnectNode(ctx context.Context, n Node, opts ...Option) (Builder, error) {
	cfg := newConfig(opts)
	cfg.progressOut = PrefixLines(cfg.progressOut, "["+n.Name+"] ")
	if m := cfg.progressMode; m != "quiet" && m != "rawjson" {
		cfg.progressMode, cfg.progressFrom = "plain", "ConnectNode"
	}
	cfg.down = func(_, _ string, err error) error { return n.down(dialError(err)) }
	if n.driver == "docker-container" {
		b, err := connectBuildxContainer(ctx, cfg, n.builder, n.Name, n.Endpoint, n.Source)
		if err != nil {
			return nil, fmt.Errorf("BuildKit node %q of %s: %w", n.Name, n.Source, err)
		}
		return b, nil
	}
	cfg.logf("buildkit: node %q: %s from %s", n.Name, n.Endpoint, n.Source)
	if name, dctx, ok := parseDockerContainer(n.Endpoint); ok {
		b, err := connectNamedContainer(ctx, cfg, name, dctx, n.Source)
		if err != nil {
			return nil, fmt.Errorf("BuildKit node %q: %w", n.Name, err)
		}
		return b, nil
	}
	return connectAddress(ctx, cfg, n.Endpoint, n.Source)
}

// down is the error of a node that does not answer.
func (n Node) down(why string) error {
	if n.builder != "" {
		format, refs := hostRefs(n.Platforms)
		args := append([]any{n.Name, n.Source, n.Endpoint, why, n.builder, n.builder, n.Name}, refs...)
		return option.Errorf("BuildKit node %q of %s (%s) is down: %s: start buildkitd there (docker buildx inspect --bootstrap %s), remove the node (docker buildx create --leave --name %s --node %s), or set "+format, args...)
	}
	return option.Errorf("BuildKit node %q (%s, from %s) is down: %s: start buildkitd there, or point %s at a running one",
		n.Name, n.Endpoint, n.Source, why, n.Source)
}

// hostRefs mentions the per-architecture host options of ps, or of every
// architecture when ps names none: a format ("%s or %s") and its Refs, for
// an option.Errorf that names them.
func hostRefs(ps []string) (string, []any) {
	var refs []any
	for _, h := range hostArches {
		for _, p := range ps {
			if strings.HasSuffix(p, "/"+h.arch) {
				refs = append(refs, option.Env(h.opt))
			}
		}
	}
	if len(refs) == 0 {
		for _, h := range hostArches {
			refs = append(refs, option.Env(h.opt))
		}
	}
	return strings.TrimSuffix(strings.Repeat("%s or ", len(refs)), " or "), refs
}

// Native is the platform the node's BuildKit runs on: BuildKit lists a
// worker's own platform first (then the ones binfmt_misc emulates), and a
// worker started with --oci-worker-platform lists what it was given.
func (e Endpoint) Native() string {
	if len(e.workerPlatforms) == 0 {
		return ""
	}
	return platforms.Format(platforms.Normalize(e.workerPlatforms[0].p))
}

func normalise(p string) string {
	pp, err := platforms.Parse(p)
	if err != nil {
		return p
	}
	return platforms.Format(platforms.Normalize(pp))
}

// prefixWriter writes whole lines, each prefixed, so that the progress
// and log lines of several nodes building at once interleave line by line
// and say which node they are from.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix []byte
	buf    []byte
}

// PrefixLines returns a writer that writes whole lines to w, each starting
// with prefix; nil for a nil w. Safe for concurrent use.
func PrefixLines(w io.Writer, prefix string) io.Writer {
	if w == nil {
		return nil
	}
	return &prefixWriter{w: w, prefix: []byte(prefix)}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := append(append([]byte{}, p.prefix...), p.buf[:i+1]...)
		p.buf = p.buf[i+1:]
		if _, err := p.w.Write(line); err != nil {
			return len(b), err
		}
	}
}
