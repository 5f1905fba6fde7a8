package buildkit

import (
	"context"
	"fmt"
	"net"

	bkclient "github.com/moby/buildkit/client"
	dockerclient "github.com/moby/moby/client"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
)

// defaultDockerHost mirrors the Engine API client's default on Linux.
const defaultDockerHost = "unix:///var/run/docker.sock"

// containerdSnapshotter is the DriverStatus "driver-type" dockerd reports
// when the containerd image store is on; only then can its BuildKit build
// several platforms and export caches.
const containerdSnapshotter = "io.containerd.snapshotter.v1"

// connectDocker connects to the BuildKit embedded in dockerd by hijacking the
// Engine API's /grpc and /session endpoints, the way buildx's docker driver
// does, records what that builder cannot do and returns, in words, what it
// lacks of cfg.needs.
func connectDocker(ctx context.Context, cfg config, source string) (Builder, []string, error) {
	cli, closeOwned, err := cfg.dockerAPI("")
	if err != nil {
		return nil, nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.probeTimeout)
	defer cancel()
	if _, err := cli.Ping(pctx, dockerclient.PingOptions{NegotiateAPIVersion: true}); err != nil {
		// A daemon too old for this client still answers a plain ping
		// with its API version: name it rather than "not answering".
		if ping, perr := cli.Ping(pctx, dockerclient.PingOptions{}); perr == nil {
			if verr := checkEngineAPI(cli.DaemonHost(), ping.APIVersion); verr != nil {
				closeOwned()
				return nil, nil, verr
			}
		}
		closeOwned()
		if source != fallbackSource {
			return nil, nil, fmt.Errorf("the Docker daemon at %s (used by %s) is not answering (%s): start dockerd, `docker buildx use` another builder, or set %s to a buildkitd",
				cli.DaemonHost(), source, oneline.Lines(err), HostEnv)
		}
		return nil, nil, fmt.Errorf("no BuildKit found: %s is unset, no buildx builder is selected, and the Docker daemon at %s is not answering (%s): start buildkitd and set %s=unix:///run/buildkit/buildkitd.sock, or start dockerd",
			HostEnv, cli.DaemonHost(), oneline.Lines(err), HostEnv)
	}
	info, err := cli.Info(pctx, dockerclient.InfoOptions{})
	if err != nil {
		closeOwned()
		return nil, nil, fmt.Errorf("the Docker daemon at %s did not answer /info (%s): check dockerd, or set %s to a buildkitd", cli.DaemonHost(), oneline.Lines(err), HostEnv)
	}
	containerdStore := false
	for _, kv := range info.Info.DriverStatus {
		if kv[0] == "driver-type" && kv[1] == containerdSnapshotter {
			containerdStore = true
		}
	}

	bk, err := bkclient.New(ctx, "",
		bkclient.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return cli.DialHijack(ctx, "/grpc", "h2c", nil)
		}),
		bkclient.WithSessionDialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return cli.DialHijack(ctx, "/session", proto, meta)
		}))
	if err != nil {
		closeOwned()
		return nil, nil, fmt.Errorf("cannot reach the Docker daemon's BuildKit at %s: %s: start dockerd, or set %s to a buildkitd", cli.DaemonHost(), oneline.Lines(err), HostEnv)
	}
	version := ""
	if v, err := cli.ServerVersion(pctx, dockerclient.ServerVersionOptions{}); err == nil {
		version = v.Version
	}
	b := &builder{cfg: cfg, bk: bk, closeExtra: closeOwned, endpoint: Endpoint{
		EngineVersion: version,
		Kind:          KindDockerDaemon,
		Address:       cli.DaemonHost(),
		Source:        source,
		Caps: Capabilities{
			MultiPlatform: containerdStore,
			CacheExport:   containerdStore,
			// dockerd's BuildKit never pushes by digest, whatever the store.
			PushByDigest:  false,
			ImageExporter: containerdStore,
		},
	}}
	if err := b.probeWorkers(ctx); err != nil {
		b.Close()
		return nil, nil, err
	}
	return b, cfg.needs.missing(b.endpoint.Caps), nil
}
