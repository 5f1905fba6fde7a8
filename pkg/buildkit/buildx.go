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

	dockercliconfig "github.com/docker/cli/cli/config"
)

// buildxCurrent is buildx's $DOCKER_CONFIG/buildx/current file: the builder
// selected with `docker buildx use`, keyed by the Docker endpoint it was
// selected for unless Global.
type buildxCurrent struct {
	Key    string
	Name   string
	Global bool
}

// buildxNodeGroup is buildx's $DOCKER_CONFIG/buildx/instances/<name> file.
type buildxNodeGroup struct {
	Name   string
	Driver string
	Nodes  []struct {
		Name     string
		Endpoint string
	}
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
func (c config) dockerContext() (name, defaultHost string) {
	name = os.Getenv("DOCKER_CONTEXT")
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
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return defaultDockerHost
}

// currentBuildx returns the node group buildx would use, or nil when none is
// selected (buildx then falls back to the Docker daemon, as do we).
func (c config) currentBuildx() (*buildxNodeGroup, error) {
	root := filepath.Join(c.configDir(), "buildx")
	ctxName, host := c.dockerContext()
	keys := []string{ctxName}
	if ctxName == "default" {
		keys = append(keys, host)
	}

	name := ""
	if dt, err := os.ReadFile(filepath.Join(root, "current")); err == nil {
		var cur buildxCurrent
		if err := json.Unmarshal(dt, &cur); err != nil {
			return nil, fmt.Errorf("reading buildx's current builder %s: %v: fix or delete that file, or set %s", filepath.Join(root, "current"), err, HostEnv)
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
		return nil, fmt.Errorf("reading buildx builder %s: %v: fix it with `docker buildx rm %s` and `docker buildx create`, or set %s", path, err, name, HostEnv)
	}
	return &ng, nil
}

// connectBuildx connects to the current buildx builder. found is false when
// no builder is selected, so that Connect falls back to the Docker daemon.
func connectBuildx(ctx context.Context, cfg config) (b Builder, found bool, err error) {
	ng, err := cfg.currentBuildx()
	if err != nil || ng == nil {
		return nil, false, err
	}
	source := fmt.Sprintf("buildx builder %q", ng.Name)
	switch ng.Driver {
	case "docker":
		b, err := connectDocker(ctx, cfg, source)
		return b, true, err
	case "docker-container", "remote":
		if len(ng.Nodes) == 0 {
			return nil, true, fmt.Errorf("%s has no nodes: `docker buildx rm %s` and create it again, or set %s", source, ng.Name, HostEnv)
		}
		// Like buildx, one node is enough for a build; multi-node builders
		// would need buildx's own scheduling, so we use the first node.
		node := ng.Nodes[0]
		addr := node.Endpoint
		if ng.Driver == "docker-container" {
			addr = dockerContainerAddr(node.Name, node.Endpoint)
		}
		b, err := connectAddress(ctx, cfg, addr, source)
		if err != nil && ng.Driver == "docker-container" {
			err = fmt.Errorf("%w (a stopped buildx builder starts with `docker buildx inspect --bootstrap %s`)", err, ng.Name)
		}
		return b, true, err
	default:
		return nil, true, fmt.Errorf("%s uses the %q driver, which this kit cannot drive: `docker buildx use` a docker-container builder, or set %s", source, ng.Driver, HostEnv)
	}
}

// dockerContainerAddr maps a buildx docker-container node to the address the
// BuildKit client's docker-container helper dials: buildx names the container
// buildx_buildkit_<node>, and a node on another Docker context says so in
// its Endpoint.
func dockerContainerAddr(node, endpoint string) string {
	addr := "docker-container://buildx_buildkit_" + node
	if endpoint != "" && endpoint != "default" && !strings.Contains(endpoint, "://") {
		addr += "?context=" + url.QueryEscape(endpoint)
	}
	return addr
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
