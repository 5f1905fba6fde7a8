package buildkit

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/distribution/reference"
	dockercliconfig "github.com/docker/cli/cli/config"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/registry"
	dockerclient "github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"

	"github.com/muslrust-chef/muslrust-chef/internal/oneline"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

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
