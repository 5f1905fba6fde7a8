// Package buildkit drives BuildKit through its Go client: it finds an
// endpoint (BUILDKIT_HOST, the current buildx builder, the Docker daemon's
// embedded BuildKit when it can do what the build needs, or a moby/buildkit
// container it starts and reuses through the Docker API), probes what that
// endpoint can do, refuses clearly what it cannot, and solves Dockerfiles
// with the dockerfile.v0 frontend.
package buildkit

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/containerd/platforms"
	bkclient "github.com/moby/buildkit/client"
	dockerclient "github.com/moby/moby/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	// Registered for their side effect: they teach the BuildKit client the
	// podman-container://, nerdctl-container://, kube-pod:// and ssh://
	// address schemes that buildctl and buildx accept in BUILDKIT_HOST
	// (docker-container:// goes through the Docker API, see
	// connectNamedContainer).
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
	_ "github.com/moby/buildkit/client/connhelper/nerdctlcontainer"
	_ "github.com/moby/buildkit/client/connhelper/podmancontainer"
	_ "github.com/moby/buildkit/client/connhelper/ssh"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
)

// HostEnv is the standard variable naming the BuildKit address.
const HostEnv = "BUILDKIT_HOST"

// Kind says what sort of endpoint a Builder talks to; it decides what the
// endpoint can do.
type Kind string

const (
	// KindBuildkitd is a standalone buildkitd (BUILDKIT_HOST or a buildx
	// docker-container/remote builder): every feature is available.
	KindBuildkitd Kind = "buildkitd"
	// KindDockerDaemon is the BuildKit embedded in dockerd.
	KindDockerDaemon Kind = "docker"
)

// Capabilities lists what the endpoint can do, as far as this package uses it.
type Capabilities struct {
	MultiPlatform bool // several platforms in one solve
	CacheExport   bool // type=registry cache export
	PushByDigest  bool // image exporter push-by-digest=true
	ImageExporter bool // the "image" exporter (dockerd without containerd store names it "moby")
	NamedContexts bool // FROM/COPY --from=<name> backed by a context the client sends (Dockerfile frontend >= 1.4)
}

// Endpoint describes the BuildKit a Builder is connected to.
type Endpoint struct {
	Kind    Kind
	Address string // what was dialled, for messages: unix:///..., docker-container://...
	Source  string // where the address came from: "BUILDKIT_HOST", `buildx builder "x"`, "Docker daemon"
	// Platforms the workers can build, normalised OCI strings ("linux/amd64").
	Platforms []string
	Caps      Capabilities
	// Container is set when the kit started (or reused) a BuildKit
	// container for lack of any other BuildKit.
	Container *ContainerInfo
	// EngineVersion is the Docker release of a KindDockerDaemon endpoint.
	EngineVersion string

	workerPlatforms []platformMatcher
}

// Describe is a short human description for messages and logs.
func (e Endpoint) Describe() string {
	switch e.Kind {
	case KindDockerDaemon:
		if e.EngineVersion != "" {
			return "the Docker daemon's built-in BuildKit at " + e.Address + " (Docker " + e.EngineVersion + ")"
		}
		return "the Docker daemon's built-in BuildKit at " + e.Address
	default:
		return "BuildKit at " + e.Address + " (from " + e.Source + ")"
	}
}

// Builder is a connection to one BuildKit endpoint. Close releases it.
type Builder interface {
	// Endpoint reports what was connected to and what it can do.
	Endpoint() Endpoint
	// Solve builds one Dockerfile; see Request.
	Solve(ctx context.Context, req Request) (*Result, error)
	// Close releases the connection (and the Docker client it may own).
	Close() error
}

type builder struct {
	cfg      config
	bk       *bkclient.Client
	endpoint Endpoint
	// closeExtra releases what the builder owns besides the BuildKit
	// client (a Docker client it created); nil when there is none.
	closeExtra func()
}

var _ Builder = (*builder)(nil)

// Connect resolves the BuildKit endpoint, logging one line per step:
// WithHost (BUILDKIT_HOST, passed by the caller); else the current buildx builder; else the
// Docker daemon's embedded BuildKit if it can do what WithNeeds asks; else a
// BuildKit container (WithBuildkitImage) that it starts through the Docker
// API, or reuses from an earlier run. It checks that the endpoint answers
// and probes its workers and capabilities.
func Connect(ctx context.Context, opts ...Option) (Builder, error) {
	cfg := newConfig(opts)
	host, source := cfg.host, cfg.hostSource
	if host != "" {
		cfg.logf("buildkit: using %s from %s", host, source)
		if name, dctx, ok := parseDockerContainer(host); ok {
			return connectNamedContainer(ctx, cfg, name, dctx, source)
		}
		return connectAddress(ctx, cfg, host, source)
	}
	cfg.logf("buildkit: %s is unset", HostEnv)

	if b, found, err := connectBuildx(ctx, cfg); found || err != nil {
		return b, err
	}

	b, missing, err := connectDocker(ctx, cfg, fallbackSource)
	if err != nil {
		return nil, err
	}
	if len(missing) == 0 {
		cfg.logf("buildkit: using %s", b.Endpoint().Describe())
		return b, nil
	}
	b.Close()
	cfg.logf("buildkit: not using %s: it cannot do %s", b.Endpoint().Describe(), strings.Join(missing, ", "))
	return startContainer(ctx, cfg)
}

// startContainer is the last step: a BuildKit container of the kit's own.
func startContainer(ctx context.Context, cfg config) (Builder, error) {
	cli, closeCli, err := cfg.dockerAPI("")
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.probeTimeout)
	ping, err := cli.Ping(pctx, dockerclient.PingOptions{})
	cancel()
	if err != nil {
		closeCli()
		return nil, fmt.Errorf("no BuildKit found: %s is unset, no buildx builder is selected, and the Docker daemon at %s is not answering (%s): start buildkitd and set %s=unix:///run/buildkit/buildkitd.sock, or start dockerd",
			HostEnv, cli.DaemonHost(), oneline.Lines(err), HostEnv)
	}
	if err := checkEngineAPI(cli.DaemonHost(), ping.APIVersion); err != nil {
		closeCli()
		return nil, err
	}
	info, err := ensureContainer(ctx, cfg, cli, startSpec{image: cfg.image, name: cfg.containerName, network: cfg.network, config: cfg.buildkitdConfig})
	if err != nil {
		closeCli()
		return nil, err
	}
	b, err := connectContainer(ctx, cfg, cli, closeCli, info.Name, "container "+info.Name+" started by muslrust-chef")
	if err != nil {
		return nil, err
	}
	b.endpoint.Container = &info
	cfg.logf("buildkit: using %s", b.endpoint.Describe())
	return b, nil
}

// fallbackSource names the Docker daemon step of the resolution order in messages.
const fallbackSource = "Docker daemon (no " + HostEnv + ", no buildx builder)"

// connectAddress dials a buildkitd address and probes it.
func connectAddress(ctx context.Context, cfg config, addr, source string) (Builder, error) {
	c, err := bkclient.New(ctx, addr)
	if err != nil {
		return nil, cfg.unreachable(addr, source, err)
	}
	b := &builder{cfg: cfg, bk: c, endpoint: Endpoint{
		Kind:    KindBuildkitd,
		Address: addr,
		Source:  source,
		Caps:    Capabilities{MultiPlatform: true, CacheExport: true, PushByDigest: true, ImageExporter: true},
	}}
	if err := b.probeWorkers(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return b, nil
}

// unreachable is the one error a user sees when nothing answers at addr.
func (cfg config) unreachable(addr, source string, err error) error {
	if cfg.down != nil {
		return cfg.down(addr, source, err)
	}
	return fmt.Errorf("BuildKit at %s (from %s) is not answering (%s): start buildkitd there, or set %s to a running one (unix:///run/buildkit/buildkitd.sock, tcp://host:1234, docker-container://buildx_buildkit_<builder>0)",
		addr, source, dialError(err), HostEnv)
}

// dialError keeps the informative end of grpc's dial failure ("dial unix
// /x.sock: connect: no such file or directory") and drops its preamble.
func dialError(err error) string {
	s := oneline.Lines(err)
	if i := strings.LastIndex(s, "Error while dialing: "); i >= 0 {
		s = s[i+len("Error while dialing: "):]
	} else if i := strings.Index(s, "desc = "); i >= 0 {
		s = s[i+len("desc = "):]
	}
	return strings.Trim(s, `"`)
}

// probeWorkers lists the workers; it is also the reachability check, since
// grpc dials lazily and client.New succeeds even when nothing listens.
func (b *builder) probeWorkers(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, b.cfg.probeTimeout)
	defer cancel()
	workers, err := b.bk.ListWorkers(pctx)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("connecting to %s: %w", b.endpoint.Describe(), context.Cause(ctx))
		}
		return b.cfg.unreachable(b.endpoint.Address, b.endpoint.Source, err)
	}
	if len(workers) == 0 {
		return fmt.Errorf("%s has no workers: check the buildkitd log (it needs runc or containerd)", b.endpoint.Describe())
	}
	seen := map[string]bool{}
	for _, w := range workers {
		for _, p := range w.Platforms {
			b.endpoint.workerPlatforms = append(b.endpoint.workerPlatforms, platformMatcher{p: p, m: platforms.Only(p)})
			s := platforms.Format(platforms.Normalize(p))
			if !seen[s] {
				seen[s] = true
				b.endpoint.Platforms = append(b.endpoint.Platforms, s)
			}
		}
	}
	sort.Strings(b.endpoint.Platforms)
	// BuildKit before v0.11 (Docker 20.10's built-in one) has no Info call,
	// and its Dockerfile frontend cannot take named contexts either: it
	// would try to pull an image named after the context instead.
	if _, err := b.bk.Info(pctx); err == nil {
		b.endpoint.Caps.NamedContexts = true
	} else if ctx.Err() != nil {
		return fmt.Errorf("connecting to %s: %w", b.endpoint.Describe(), context.Cause(ctx))
	}
	return nil
}

type platformMatcher struct {
	p ocispecs.Platform
	m platforms.MatchComparer
}

func (b *builder) Endpoint() Endpoint { return b.endpoint }

func (b *builder) Close() error {
	err := b.bk.Close()
	if b.closeExtra != nil {
		b.closeExtra()
	}
	return err
}
