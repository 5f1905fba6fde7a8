package buildkit

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	bkclient "github.com/moby/buildkit/client"
	dockerclient "github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
)

// DefaultImage is the BuildKit image Connect starts when nothing else can
// build: pinned by tag (for people) and digest (for reproducibility), the
// server release matching the client this module uses.
const DefaultImage = "moby/buildkit:v0.34.0@sha256:b059f8d7226d0b326bc871af489a5dddf65e36af4d20d14251b072974d9ee87c"

// DefaultContainer names the container Connect starts; its state volume is
// the same name plus StateSuffix. The name says whose it is in `docker ps`.
const DefaultContainer = "muslrust-chef-buildkit"

// StateSuffix turns a container name into its state volume's name.
const StateSuffix = "_state"

// Labels on the started container: which image it was created from, so a
// new pinned image replaces it (the volume, and so the cache, stays).
const (
	labelOwner = "io.muslrust-chef.buildkit"
	labelImage = "io.muslrust-chef.buildkit.image"
	// labelSpec hashes everything the container was created with (image,
	// network, buildkitd.toml): a change means a new container.
	labelSpec = "io.muslrust-chef.buildkit.spec"
)

// configPath is where a buildkitd.toml given with WithBuildkitdConfig is
// copied in the container, as buildx does with --buildkitd-config.
const configPath = "/etc/buildkit/buildkitd.toml"

// stateDir is where buildkitd keeps its cache; the volume is mounted there.
const stateDir = "/var/lib/buildkit"

// MinAPIVersion is the oldest Engine API the kit can start a container
// through (the Docker client's own floor); MinDockerVersion is the release
// that introduced it.
const (
	MinAPIVersion    = dockerclient.MinAPIVersion
	MinDockerVersion = "19.03"
)

// dockerReleases maps Engine API versions to the Docker release that
// introduced them, for messages (a daemon reports both, but a daemon too
// old for the client is only asked for its API version).
var dockerReleases = map[string]string{
	"1.24": "1.12", "1.25": "1.13", "1.26": "17.03", "1.27": "17.04", "1.28": "17.05", "1.29": "17.06",
	"1.30": "17.07", "1.31": "17.08", "1.32": "17.09", "1.33": "17.10", "1.34": "17.11", "1.35": "17.12",
	"1.36": "18.02", "1.37": "18.03", "1.38": "18.06", "1.39": "18.09", "1.40": "19.03", "1.41": "20.10",
	"1.42": "23.0", "1.43": "24.0", "1.44": "25.0", "1.45": "26.0", "1.46": "27.0", "1.47": "27.3",
	"1.48": "28.0", "1.49": "28.2", "1.50": "28.3", "1.51": "28.4",
}

// checkEngineAPI refuses an Engine API older than the kit can drive, in one
// line naming the version found and the one needed.
func checkEngineAPI(host, api string) error {
	if api == "" {
		return fmt.Errorf("the Docker daemon at %s does not report its API version, so it predates Docker 1.12; the kit needs Docker %s (API %s) or newer to start a BuildKit container: upgrade Docker, or set %s to a running buildkitd",
			host, MinDockerVersion, MinAPIVersion, HostEnv)
	}
	if apiLess(api, MinAPIVersion) {
		release := dockerReleases[api]
		if release == "" {
			release = "unknown release"
		} else {
			release = "Docker " + release
		}
		return fmt.Errorf("the Docker daemon at %s speaks Engine API %s (%s), too old: the kit needs Docker %s (API %s) or newer to start a BuildKit container: upgrade Docker, or set %s to a running buildkitd",
			host, api, release, MinDockerVersion, MinAPIVersion, HostEnv)
	}
	return nil
}

// apiLess compares "1.39"-style versions numerically.
func apiLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// ContainerInfo describes a BuildKit container the kit started or reused.
type ContainerInfo struct {
	Name   string // container name, as `docker ps` shows it
	Image  string // image reference it runs
	Volume string // named volume holding BuildKit's state (its cache)
	// Created is true when this Connect created the container; false when
	// an existing one was reused (started again if it was stopped).
	Created bool
}

// dockerAPI returns an Engine API client for host ("" means the configured
// daemon: WithDockerHost, default the local socket) and a func closing it.
// The address is always the option's: the Engine API client's own
// DOCKER_HOST lookup would bypass the caller. Its TLS and API version
// variables (DOCKER_CERT_PATH, DOCKER_TLS_VERIFY, DOCKER_API_VERSION) are
// the Docker client's convention and stay its own, as the Docker config
// directory does.
func (c config) dockerAPI(host string) (*dockerclient.Client, func(), error) {
	if host == "" {
		host = c.daemonHost()
	}
	cli, err := dockerclient.New(dockerclient.FromEnv, dockerclient.WithHost(host))
	if err != nil {
		return nil, nil, fmt.Errorf("cannot set up a Docker client for %s: %s: fix DOCKER_HOST, or set %s to a buildkitd", host, oneline.Lines(err), HostEnv)
	}
	return cli, func() { cli.Close() }, nil
}

// connectContainer dials buildkitd inside a running container and probes it.
func connectContainer(ctx context.Context, cfg config, cli *dockerclient.Client, closeCli func(), name, source string) (*builder, error) {
	bk, err := bkclient.New(ctx, "", bkclient.WithContextDialer(containerDialer(cli, name)))
	if err != nil {
		closeCli()
		return nil, fmt.Errorf("cannot reach buildkitd in container %s: %s", name, oneline.Lines(err))
	}
	b := &builder{cfg: cfg, bk: bk, closeExtra: closeCli, endpoint: Endpoint{
		Kind:    KindBuildkitd,
		Address: "docker-container://" + name,
		Source:  source,
		Caps:    Capabilities{MultiPlatform: true, CacheExport: true, PushByDigest: true, ImageExporter: true},
	}}
	if err := b.probeWorkers(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// contextHost resolves a Docker CLI context name to its daemon address by
// reading the CLI's context store ($DOCKER_CONFIG/contexts/meta/<sha256 of
// the name>/meta.json).
func (c config) contextHost(name string) (string, error) {
	if name == "" || name == "default" {
		return "", nil
	}
	if strings.Contains(name, "://") {
		return name, nil
	}
	file := filepath.Join(c.configDir(), "contexts", "meta", digest.FromString(name).Encoded(), "meta.json")
	dt, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("Docker context %q is not in %s: %s", name, filepath.Dir(filepath.Dir(file)), oneline.Lines(err))
	}
	var meta struct {
		Endpoints map[string]struct{ Host string }
	}
	if err := json.Unmarshal(dt, &meta); err != nil || meta.Endpoints["docker"].Host == "" {
		return "", fmt.Errorf("Docker context %q (%s) names no Docker endpoint", name, file)
	}
	return meta.Endpoints["docker"].Host, nil
}
