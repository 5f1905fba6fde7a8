package buildkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	dockercliconfig "github.com/docker/cli/cli/config"
	dockerclient "github.com/moby/moby/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
)

// buildxCurrent is buildx's $DOCKER_CONFIG/buildx/current file: the builder
// selected with `docker buildx use`, keyed by the Docker endpoint it was
// selected for unless Global.
type buildxCurrent struct {
	Key    string
	Name   string
	Global bool
}

// buildxNodeGroup is buildx's $DOCKER_CONFIG/buildx/instances/<name> file
// (buildx's store.NodeGroup, as far as this kit reads it).
type buildxNodeGroup struct {
	Name   string
	Driver string
	Nodes  []buildxNode
}

// buildxNode is one node of a buildx builder (store.Node). Platforms is
// what `docker buildx create --platform` declared, empty otherwise.
type buildxNode struct {
	Name      string
	Endpoint  string
	Platforms []ocispecs.Platform
}

func (c config) configDir() string {
	if c.dockerConfigDir != "" {
		return c.dockerConfigDir
	}
	return dockercliconfig.Dir()
}

// dockerContext returns the Docker CLI's current context name and the daemon
// address of the default context; buildx keys its "current" file with the
// context name, or with the daemon address for the default context.
func (c config) currentContext() (name, defaultHost string) {
	name = c.dockerContext
	if name == "" {
		if f, err := dockercliconfig.Load(c.configDir()); err == nil {
			name = f.CurrentContext
		}
	}
	if name == "" {
		name = "default"
	}
	return name, c.daemonHost()
}

func (c config) daemonHost() string {
	if c.dockerHost != "" {
		return c.dockerHost
	}
	return defaultDockerHost
}

// currentBuildx returns the node group buildx would use, or nil when none is
// selected (buildx then falls back to the Docker daemon, as do we).
func (c config) currentBuildx() (*buildxNodeGroup, error) {
	root := filepath.Join(c.configDir(), "buildx")
	ctxName, host := c.currentContext()
	keys := []string{ctxName}
	if ctxName == "default" {
		keys = append(keys, host)
	}

	name := ""
	if dt, err := os.ReadFile(filepath.Join(root, "current")); err == nil {
		var cur buildxCurrent
		if err := json.Unmarshal(dt, &cur); err != nil {
			return nil, fmt.Errorf("reading buildx's current builder %s: %w: fix or delete that file, or set %s", filepath.Join(root, "current"), err, HostEnv)
		}
		if cur.Name != "" && (cur.Global || contains(keys, cur.Key)) {
			name = cur.Name
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if name == "" {
		// `docker buildx use --default` stores the choice per endpoint under
		// defaults/<first 20 hex of sha256(key)>.
		for _, k := range keys {
			sum := sha256.Sum256([]byte(k))
			if dt, err := os.ReadFile(filepath.Join(root, "defaults", hex.EncodeToString(sum[:])[:20])); err == nil {
				name = strings.TrimSpace(string(dt))
				break
			}
		}
	}
	if name == "" {
		return nil, nil
	}
	path := filepath.Join(root, "instances", strings.ToLower(name))
	dt, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		// The default builders ("default", or a context name) use the docker
		// driver and have no instance file.
		return &buildxNodeGroup{Name: name, Driver: "docker"}, nil
	}
	if err != nil {
		return nil, err
	}
	var ng buildxNodeGroup
	if err := json.Unmarshal(dt, &ng); err != nil {
		return nil, fmt.Errorf("reading buildx builder %s: %w: fix it with `docker buildx rm %s` and `docker buildx create`, or set %s", path, err, name, HostEnv)
	}
	return &ng, nil
}

// connectBuildx connects to the current buildx builder. found is false when
// no builder is selected, or when it is the Docker daemon's builder and that
// cannot do what the build needs, so that Connect goes on to the next step.
func connectBuildx(ctx context.Context, cfg config) (b Builder, found bool, err error) {
	ng, err := cfg.currentBuildx()
	if err != nil {
		return nil, false, err
	}
	if ng == nil {
		cfg.logf("buildkit: no buildx builder is selected (%s)", filepath.Join(cfg.configDir(), "buildx"))
		return nil, false, nil
	}
	source := fmt.Sprintf("buildx builder %q", ng.Name)
	switch ng.Driver {
	case "docker":
		b, missing, err := connectDocker(ctx, cfg, source)
		if err != nil || len(missing) == 0 {
			if err == nil {
				cfg.logf("buildkit: using %s, %s's", b.Endpoint().Describe(), source)
			}
			return b, true, err
		}
		b.Close()
		cfg.logf("buildkit: not using %s (the docker driver's %s): it cannot do %s", source, b.Endpoint().Describe(), strings.Join(missing, ", "))
		return nil, false, nil
	case "docker-container", "remote":
		if len(ng.Nodes) == 0 {
			return nil, true, fmt.Errorf("%s has no nodes: `docker buildx rm %s` and create it again, or set %s", source, ng.Name, HostEnv)
		}
		// One node is enough for a build on one connection; a split build
		// over several platforms spreads them over every node (Nodes).
		node := ng.Nodes[0]
		if ng.Driver == "remote" {
			cfg.logf("buildkit: using %s (remote driver) at %s", source, node.Endpoint)
			b, err := connectAddress(ctx, cfg, node.Endpoint, source)
			return b, true, err
		}
		b, err := connectBuildxContainer(ctx, cfg, ng.Name, node.Name, node.Endpoint, source)
		return b, true, err
	default:
		return nil, true, fmt.Errorf("%s uses the %q driver, which this kit cannot drive: `docker buildx use` a docker-container builder, or set %s", source, ng.Driver, HostEnv)
	}
}

// connectBuildxContainer reaches a docker-container node through the Docker
// API of the node's endpoint (a Docker context or daemon address), starting
// its container when it is stopped, as `docker buildx build` would.
func connectBuildxContainer(ctx context.Context, cfg config, builderName, node, endpoint, source string) (Builder, error) {
	name := buildxContainerPrefix + node
	host, err := cfg.contextHost(endpoint)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: `docker buildx rm %s` and create it again, or set %s", source, err, builderName, HostEnv)
	}
	cli, closeCli, ins, err := cfg.inspectContainer(ctx, host, name)
	if cli == nil {
		return nil, err
	}
	if err != nil {
		closeCli()
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("%s: its container %s does not exist on the Docker daemon at %s: create it with `docker buildx inspect --bootstrap %s`, or set %s",
				source, name, cli.DaemonHost(), builderName, HostEnv)
		}
		return nil, fmt.Errorf("%s: the Docker daemon at %s is not answering (%s): start dockerd, `docker buildx use` another builder, or set %s",
			source, cli.DaemonHost(), oneline.Lines(err), HostEnv)
	}
	if !ins.Container.State.Running {
		cfg.logf("buildkit: starting %s's stopped container %s", source, name)
		if _, err := cli.ContainerStart(ctx, name, dockerclient.ContainerStartOptions{}); err != nil {
			closeCli()
			return nil, fmt.Errorf("%s: cannot start its container %s (%s): `docker buildx inspect --bootstrap %s`, or set %s", source, name, oneline.Lines(err), builderName, HostEnv)
		}
		if err := waitReady(ctx, cli, name, cfg.startTimeout); err != nil {
			closeCli()
			return nil, fmt.Errorf("%s: %w", source, err)
		}
	}
	cfg.logf("buildkit: using %s (docker-container driver), container %s", source, name)
	return connectContainer(ctx, cfg, cli, closeCli, name, source)
}

// parseDockerContainer splits BUILDKIT_HOST=docker-container://<name>[?context=<ctx>].
func parseDockerContainer(addr string) (name, dockerContext string, ok bool) {
	rest, found := strings.CutPrefix(addr, "docker-container://")
	if !found {
		return "", "", false
	}
	name, query, _ := strings.Cut(rest, "?")
	if q, err := url.ParseQuery(query); err == nil {
		dockerContext = q.Get("context")
	}
	return name, dockerContext, name != ""
}

// connectNamedContainer reaches buildkitd in a running container named by
// BUILDKIT_HOST=docker-container://..., through the Docker API as for a
// buildx node (no docker CLI needed).
func connectNamedContainer(ctx context.Context, cfg config, name, dockerContext, source string) (Builder, error) {
	host, err := cfg.contextHost(dockerContext)
	if err != nil {
		return nil, fmt.Errorf("%s=docker-container://%s: %w", source, name, err)
	}
	cli, closeCli, ins, err := cfg.inspectContainer(ctx, host, name)
	if cli == nil {
		return nil, err
	}
	if err != nil || !ins.Container.State.Running {
		closeCli()
		why := "is not running"
		if err != nil {
			why = "cannot be inspected (" + oneline.Lines(err) + ")"
			if cerrdefs.IsNotFound(err) {
				why = "does not exist"
			}
		}
		return nil, fmt.Errorf("BuildKit at docker-container://%s (from %s): the container %s on the Docker daemon at %s: start it, or set %s to a running buildkitd",
			name, source, why, cli.DaemonHost(), HostEnv)
	}
	return connectContainer(ctx, cfg, cli, closeCli, name, source)
}

// inspectContainer asks the Docker daemon at host about container name,
// within the probe timeout. A nil client means the daemon could not be
// reached (err says why); otherwise the caller owns closeCli and err is
// the inspection's.
func (cfg config) inspectContainer(ctx context.Context, host, name string) (*dockerclient.Client, func(), dockerclient.ContainerInspectResult, error) {
	cli, closeCli, err := cfg.dockerAPI(host)
	if err != nil {
		return nil, nil, dockerclient.ContainerInspectResult{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.probeTimeout)
	defer cancel()
	ins, err := cli.ContainerInspect(pctx, name, dockerclient.ContainerInspectOptions{})
	return cli, closeCli, ins, err
}

// buildxContainerPrefix is how buildx names a docker-container node's container.
const buildxContainerPrefix = "buildx_buildkit_"

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
