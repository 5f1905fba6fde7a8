package buildkit

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	dockercliconfig "github.com/docker/cli/cli/config"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/registry"
	dockerclient "github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/internal/retry"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
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

// containerDialer runs `buildctl dial-stdio` in the container through the
// Engine API's exec endpoint for every connection grpc opens: the same
// transport as buildx's docker-container driver, without a docker CLI.
func containerDialer(cli *dockerclient.Client, name string) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, _ string) (net.Conn, error) {
		_, conn, err := execAttach(ctx, cli, name, []string{"buildctl", "dial-stdio"})
		if err != nil {
			return nil, err
		}
		return demux(conn), nil
	}
}

// execAttach starts cmd in the container with its standard streams attached.
func execAttach(ctx context.Context, cli *dockerclient.Client, name string, cmd []string) (string, *hijacked, error) {
	ex, err := cli.ExecCreate(ctx, name, dockerclient.ExecCreateOptions{Cmd: cmd, AttachStdin: true, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", nil, err
	}
	if ex.ID == "" {
		return "", nil, fmt.Errorf("the Docker daemon returned no exec ID for %q in %s", strings.Join(cmd, " "), name)
	}
	res, err := cli.ExecAttach(ctx, ex.ID, dockerclient.ExecAttachOptions{})
	if err != nil {
		return "", nil, err
	}
	return ex.ID, &hijacked{Conn: res.Conn, r: res.Reader}, nil
}

// hijacked reads through the response's buffered reader, which may already
// hold the first bytes after the HTTP upgrade.
type hijacked struct {
	net.Conn
	r io.Reader
}

func (h *hijacked) Read(p []byte) (int, error) { return h.r.Read(p) }

// demuxConn strips the Engine API's stdout/stderr framing: grpc reads
// stdout only; buildctl's stderr is kept for the error message when the
// stream ends badly.
type demuxConn struct {
	net.Conn
	pr     *io.PipeReader
	mu     sync.Mutex
	stderr bytes.Buffer
}

func demux(c net.Conn) net.Conn {
	pr, pw := io.Pipe()
	d := &demuxConn{Conn: c, pr: pr}
	go func() {
		_, err := stdcopy.StdCopy(pw, lockedWriter{d}, c)
		if err == nil {
			d.mu.Lock()
			if s := strings.TrimSpace(d.stderr.String()); s != "" {
				err = errors.New("buildctl dial-stdio: " + s)
			}
			d.mu.Unlock()
		}
		pw.CloseWithError(err)
	}()
	return d
}

type lockedWriter struct{ d *demuxConn }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	if w.d.stderr.Len() < 4096 {
		w.d.stderr.Write(p)
	}
	return len(p), nil
}

func (d *demuxConn) Read(p []byte) (int, error) { return d.pr.Read(p) }

// run executes cmd in the container and returns its output and exit code.
func run(ctx context.Context, cli *dockerclient.Client, name string, cmd ...string) (string, int, error) {
	id, conn, err := execAttach(ctx, cli, name, cmd)
	if err != nil {
		return "", -1, err
	}
	defer conn.Close()
	if cw, ok := conn.Conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, conn); err != nil {
		return out.String(), -1, err
	}
	res, err := cli.ExecInspect(ctx, id, dockerclient.ExecInspectOptions{})
	if err != nil {
		return out.String(), -1, err
	}
	return out.String(), res.ExitCode, nil
}

// waitReady polls `buildctl debug workers` in the container until buildkitd
// answers, as buildx does after starting its container.
func waitReady(ctx context.Context, cli *dockerclient.Client, name string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	return retry.Poll(ctx, retry.Linear(100*time.Millisecond, time.Second), func(int) (bool, error) {
		out, code, err := run(ctx, cli, name, "buildctl", "debug", "workers")
		if err == nil && code == 0 {
			return true, nil
		}
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		if time.Now().After(deadline) {
			why := strings.TrimSpace(out)
			if err != nil {
				why = oneline.Lines(err)
			}
			return false, fmt.Errorf("buildkitd in container %s did not answer within %s (%s; last log lines: %s): see `docker logs %s`",
				name, limit, oneline.Lines(errors.New(why)), containerLogTail(ctx, cli, name), name)
		}
		return false, nil
	})
}

func containerLogTail(ctx context.Context, cli *dockerclient.Client, name string) string {
	rc, err := cli.ContainerLogs(ctx, name, dockerclient.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "3"})
	if err != nil {
		return "unavailable: " + oneline.Lines(err)
	}
	defer rc.Close()
	var out bytes.Buffer
	stdcopy.StdCopy(&out, &out, io.LimitReader(rc, 8192))
	return oneline.Lines(errors.New(out.String()))
}

// startSpec says which container to ensure.
type startSpec struct {
	image   string
	name    string
	network string // Docker network mode; "" is the daemon's default (bridge)
	config  []byte // buildkitd.toml; nil runs buildkitd with its defaults
}

func (s startSpec) hash() string {
	return digest.FromString(s.image + "\x00" + s.network + "\x00" + string(s.config)).Encoded()[:16]
}

func (s startSpec) describe() string {
	d := s.image
	if s.network != "" {
		d += ", network " + s.network
	}
	if s.config != nil {
		d += ", buildkitd.toml " + digest.FromBytes(s.config).Encoded()[:12]
	}
	return d
}

// ensureContainer returns a running BuildKit container named spec.name,
// creating it (and its state volume) from spec.image when it does not
// exist, replacing it (keeping the volume) when it was created with other
// settings, and starting it when it is stopped. It logs one line saying
// which.
func ensureContainer(ctx context.Context, cfg config, cli *dockerclient.Client, spec startSpec) (ContainerInfo, error) {
	info := ContainerInfo{Name: spec.name, Image: spec.image, Volume: spec.name + StateSuffix}
	ins, err := cli.ContainerInspect(ctx, spec.name, dockerclient.ContainerInspectOptions{})
	switch {
	case err == nil:
		cur := ins.Container.Config.Labels[labelImage]
		if ins.Container.Config.Labels[labelSpec] == spec.hash() {
			if !ins.Container.State.Running {
				cfg.logf("buildkit: starting the stopped container %s (%s, state in volume %s)", spec.name, spec.image, info.Volume)
				if _, err := cli.ContainerStart(ctx, spec.name, dockerclient.ContainerStartOptions{}); err != nil {
					return info, fmt.Errorf("cannot start the BuildKit container %s: %s: remove it with `docker rm -f %s` and run again", spec.name, oneline.Lines(err), spec.name)
				}
			} else {
				cfg.logf("buildkit: reusing the running container %s (%s, state in volume %s)", spec.name, spec.image, info.Volume)
			}
			return info, waitReady(ctx, cli, spec.name, cfg.startTimeout)
		}
		if ins.Container.Config.Labels[labelOwner] == "" {
			return info, fmt.Errorf("a container named %s exists but was not started by muslrust-chef: remove or rename it (`docker rm -f %s`), or choose another name", spec.name, spec.name)
		}
		cfg.logf("buildkit: replacing container %s (created from %s with other settings) with one from %s; the cache in volume %s is kept", spec.name, cur, spec.describe(), info.Volume)
		if _, err := cli.ContainerRemove(ctx, spec.name, dockerclient.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return info, fmt.Errorf("cannot remove the outdated BuildKit container %s: %s: remove it with `docker rm -f %s`", spec.name, oneline.Lines(err), spec.name)
		}
	case cerrdefs.IsNotFound(err):
	default:
		return info, fmt.Errorf("cannot inspect container %s on the Docker daemon at %s: %s", spec.name, cli.DaemonHost(), oneline.Lines(err))
	}

	if err := ensureImage(ctx, cfg, cli, spec.image); err != nil {
		return info, err
	}
	runRef := runnable(spec.image)
	cfg.logf("buildkit: starting container %s from %s, state in volume %s (reused by later runs)", spec.name, spec.describe(), info.Volume)
	if _, err := cli.VolumeCreate(ctx, dockerclient.VolumeCreateOptions{Name: info.Volume, Labels: map[string]string{labelOwner: spec.name}}); err != nil {
		return info, fmt.Errorf("cannot create volume %s for BuildKit's state: %s", info.Volume, oneline.Lines(err))
	}
	useInit := true // reaps the processes BuildKit's containers leave behind
	hc := &container.HostConfig{
		// buildkitd creates mounts, namespaces and cgroups for every RUN
		// step: like buildx's docker-container driver, it runs privileged.
		Privileged:    true,
		Init:          &useInit,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		Mounts:        []mount.Mount{{Type: mount.TypeVolume, Source: info.Volume, Target: stateDir}},
	}
	if spec.network != "" {
		hc.NetworkMode = container.NetworkMode(spec.network)
	}
	cc := &container.Config{Image: runRef, Labels: map[string]string{labelOwner: "1", labelImage: spec.image, labelSpec: spec.hash()}}
	if spec.config != nil {
		cc.Cmd = []string{"--config", configPath}
	}
	if di, err := cli.Info(ctx, dockerclient.InfoOptions{}); err == nil {
		for _, o := range di.Info.SecurityOptions {
			// Privileged containers are refused under user namespace remapping
			// unless they share the host's.
			if strings.Contains(o, "name=userns") {
				hc.UsernsMode = "host"
			}
		}
	}
	_, err = cli.ContainerCreate(ctx, dockerclient.ContainerCreateOptions{
		Name:       spec.name,
		Config:     cc,
		HostConfig: hc,
	})
	if err != nil && !cerrdefs.IsConflict(err) {
		return info, fmt.Errorf("cannot create the BuildKit container %s from %s: %s", spec.name, spec.image, oneline.Lines(err))
	}
	// On a conflict another run created it at the same moment: start and
	// wait for it just the same.
	info.Created = err == nil
	if info.Created && spec.config != nil {
		if err := copyConfig(ctx, cli, spec.name, spec.config); err != nil {
			cli.ContainerRemove(ctx, spec.name, dockerclient.ContainerRemoveOptions{Force: true})
			return info, fmt.Errorf("cannot copy buildkitd.toml into the BuildKit container %s: %s", spec.name, oneline.Lines(err))
		}
	}
	if _, err := cli.ContainerStart(ctx, spec.name, dockerclient.ContainerStartOptions{}); err != nil {
		if info.Created {
			// Leave no container that can never start; the next run
			// creates it afresh (the volume stays).
			cli.ContainerRemove(ctx, spec.name, dockerclient.ContainerRemoveOptions{Force: true})
		}
		return info, fmt.Errorf("cannot start the BuildKit container %s: %s: it must run privileged (rootless or locked-down Docker cannot): set %s to a buildkitd you run yourself",
			spec.name, oneline.Lines(err), HostEnv)
	}
	return info, waitReady(ctx, cli, spec.name, cfg.startTimeout)
}

// copyConfig puts buildkitd.toml at configPath before the container starts.
func copyConfig(ctx context.Context, cli *dockerclient.Client, name string, config []byte) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir, file := path.Split(configPath)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(dir, "/"), Mode: 0o755}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(dir, "/") + file, Mode: 0o644, Size: int64(len(config))}); err != nil {
		return err
	}
	if _, err := tw.Write(config); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	_, err := cli.CopyToContainer(ctx, name, dockerclient.CopyToContainerOptions{DestinationPath: "/", Content: &buf})
	return err
}

// runnable is the reference a container is created from: a digest when
// there is one, since a pull by digest stores no tag.
func runnable(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	if c, ok := named.(reference.Canonical); ok {
		return reference.TrimNamed(named).String() + "@" + c.Digest().String()
	}
	return reference.TagNameOnly(named).String()
}

// ensureImage pulls ref through the daemon unless it already has it.
func ensureImage(ctx context.Context, cfg config, cli *dockerclient.Client, ref string) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fmt.Errorf("BuildKit image %q is not a valid image reference (%s): use repo:tag@sha256:<digest>", ref, oneline.Lines(err))
	}
	if c, ok := named.(reference.Canonical); ok {
		if err := c.Digest().Validate(); err != nil && !errors.Is(err, digest.ErrDigestUnsupported) {
			return fmt.Errorf("BuildKit image %q has an invalid digest: %s", ref, oneline.Lines(err))
		}
	}
	if _, err := cli.ImageInspect(ctx, runnable(ref)); err == nil {
		return nil
	}
	cfg.logf("buildkit: pulling %s (first run only)", ref)
	auth := cfg.registryAuth(reference.Domain(named))
	start := time.Now()
	resp, err := cli.ImagePull(ctx, runnable(ref), dockerclient.ImagePullOptions{RegistryAuth: auth})
	if err == nil {
		err = resp.Wait(ctx)
		resp.Close()
	}
	if err != nil {
		return option.Errorf("cannot pull the BuildKit image %s through the Docker daemon (%s): check the network and `docker login`, set the image with %s (a mirror), or set %s to a running buildkitd", ref, oneline.Lines(err), option.Env(option.BuildkitImage), HostEnv)
	}
	cfg.logf("buildkit: pulled %s in %s", ref, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// registryAuth encodes the Docker config's credentials for host, or "".
func (c config) registryAuth(host string) string {
	f, err := dockercliconfig.Load(c.configDir())
	if err != nil {
		return ""
	}
	key := host
	if host == "docker"+".io" {
		key = "https://index." + host + "/v1/"
	}
	ac, err := f.GetAuthConfig(key)
	if err != nil || (ac.Username == "" && ac.IdentityToken == "" && ac.RegistryToken == "") {
		return ""
	}
	s, err := authconfig.Encode(registry.AuthConfig{Username: ac.Username, Password: ac.Password, ServerAddress: ac.ServerAddress,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken})
	if err != nil {
		return ""
	}
	return s
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
