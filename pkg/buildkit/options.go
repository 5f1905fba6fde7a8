package buildkit

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Option configures Connect. The package reads no environment: the
// standard variables BuildKit's and Docker's tools honour (BUILDKIT_HOST,
// BUILDKIT_PROGRESS, DOCKER_HOST, DOCKER_CONTEXT, SOURCE_DATE_EPOCH) reach
// it as options from the caller (pkg/config).
type Option func(*config)

type config struct {
	host            string
	hostSource      string
	dockerHost      string
	dockerContext   string
	dockerConfigDir string
	probeTimeout    time.Duration
	progressOut     io.Writer
	progressMode    string
	progressFrom    string
	sourceDateEpoch string
	log             io.Writer
	needs           Needs
	image           string
	containerName   string
	network         string
	buildkitdConfig []byte
	startTimeout    time.Duration
	platformHosts   []platformHost
	// down, when set, words the error of an address that does not answer
	// (ConnectNode names the node); nil: unreachable's.
	down func(addr, source string, err error) error
}

// Defaults of Connect.
const (
	defaultProbeTimeout = 15 * time.Second
	// defaultStartTimeout bounds how long a started container may take to
	// answer.
	defaultStartTimeout = 60 * time.Second
)

func newConfig(opts []Option) config {
	cfg := config{probeTimeout: defaultProbeTimeout, startTimeout: defaultStartTimeout, progressOut: os.Stderr,
		log: os.Stderr, needs: DefaultNeeds, image: DefaultImage, containerName: DefaultContainer}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

func (c config) logf(format string, args ...any) {
	fmt.Fprintf(c.log, format+"\n", args...)
}

// Needs says what a build requires of BuildKit. The Docker daemon's built-in
// BuildKit is chosen only when it can do all of it; otherwise Connect goes
// on to start a BuildKit container.
type Needs struct {
	MultiPlatform bool // several platforms in one solve
	CacheExport   bool // a registry cache export
	NamedContexts bool // named build contexts (every build of this kit)
	PushByDigest  bool // the image exporter's push-by-digest
	Archives      bool // image archives and OCI layouts (the oci/docker exporters)
}

// DefaultNeeds is what the kit's builds use: named contexts always, and
// several platforms and a registry cache by default.
var DefaultNeeds = Needs{MultiPlatform: true, CacheExport: true, NamedContexts: true}

// missing lists, in words, what caps lack of n.
func (n Needs) missing(caps Capabilities) []string {
	var m []string
	if n.NamedContexts && !caps.NamedContexts {
		m = append(m, "named build contexts (its BuildKit is older than v0.11; Docker 24.0 or newer has them)")
	}
	if n.MultiPlatform && !caps.MultiPlatform {
		m = append(m, "several platforms in one build (needs the containerd image store)")
	}
	if n.CacheExport && !caps.CacheExport {
		m = append(m, "registry cache export (needs the containerd image store)")
	}
	if n.PushByDigest && !caps.PushByDigest {
		m = append(m, "push by digest")
	}
	if n.Archives && !caps.ImageExporter {
		m = append(m, "image archives and OCI layouts (needs the containerd image store)")
	}
	return m
}

// WithHost uses this BuildKit address instead of the fallbacks (the syntax
// of BUILDKIT_HOST: unix://, tcp://, docker-container://...).
func WithHost(addr string) Option { return WithHostFrom(addr, "WithHost") }

// WithHostFrom is WithHost naming where the address came from
// (BUILDKIT_HOST, a mage argument), so errors can point the user there.
// An empty address changes nothing: the buildx builder, the Docker daemon
// and a started container are tried in turn.
func WithHostFrom(addr, source string) Option {
	return func(c *config) {
		if addr != "" {
			c.host, c.hostSource = addr, source
		}
	}
}

// WithDockerHost points the Docker daemon fallback at this address
// (unix:///var/run/docker.sock, tcp://...): the value of DOCKER_HOST.
// Default (and for ""): the local socket.
func WithDockerHost(host string) Option { return func(c *config) { c.dockerHost = host } }

// WithDockerContext is the Docker CLI context whose buildx builder is
// current (the value of DOCKER_CONTEXT); default (and for ""): the
// config file's current context.
func WithDockerContext(name string) Option { return func(c *config) { c.dockerContext = name } }

// WithDockerConfigDir reads registry credentials and buildx builders from this
// directory instead of DOCKER_CONFIG or ~/.docker.
func WithDockerConfigDir(dir string) Option { return func(c *config) { c.dockerConfigDir = dir } }

// WithNeeds says what the build requires (default DefaultNeeds), which
// decides whether the Docker daemon's built-in BuildKit will do.
func WithNeeds(n Needs) Option { return func(c *config) { c.needs = n } }

// WithLog receives one line per step of the resolution order (default
// os.Stderr).
func WithLog(w io.Writer) Option { return func(c *config) { c.log = w } }

// WithBuildkitImage is the image of the BuildKit container Connect starts
// when nothing else can build (default DefaultImage): repo:tag@sha256:...,
// or a mirror of it.
func WithBuildkitImage(ref string) Option { return func(c *config) { c.image = ref } }

// WithContainerName names the BuildKit container Connect starts (default
// DefaultContainer); its state volume is the name plus StateSuffix.
func WithContainerName(name string) Option { return func(c *config) { c.containerName = name } }

// WithContainerNetwork runs the started BuildKit container in this Docker
// network mode ("host" reaches registries on the machine's loopback, as
// buildx's network=host driver option does); default the daemon's bridge.
func WithContainerNetwork(mode string) Option { return func(c *config) { c.network = mode } }

// WithBuildkitdConfig gives the started container this buildkitd.toml
// (registry mirrors, plain-HTTP registries, ...), as buildx's
// --buildkitd-config does.
func WithBuildkitdConfig(toml []byte) Option { return func(c *config) { c.buildkitdConfig = toml } }

// WithProgress sends BuildKit's progress display to w (default os.Stderr)
// in the given mode ("auto", "tty", "plain", "quiet", "rawjson"); an empty
// mode leaves the mode as WithProgressMode set it, default "auto".
func WithProgress(w io.Writer, mode string) Option {
	return func(c *config) {
		c.progressOut = w
		if mode != "" {
			c.progressMode, c.progressFrom = mode, "WithProgress"
		}
	}
}

// WithProgressMode sets the progress display's mode, naming where it came
// from for the error about a mode that does not exist (BUILDKIT_PROGRESS);
// an empty mode changes nothing.
func WithProgressMode(mode, source string) Option {
	return func(c *config) {
		if mode != "" {
			c.progressMode, c.progressFrom = mode, source
		}
	}
}

// WithSourceDateEpoch passes this Unix time in seconds (the value of
// SOURCE_DATE_EPOCH) to every build as the SOURCE_DATE_EPOCH build
// argument, unless the request sets that argument itself; "" passes none.
func WithSourceDateEpoch(v string) Option { return func(c *config) { c.sourceDateEpoch = v } }
