package config

import (
	"fmt"
	"os"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

// The knobs of the BuildKit container the kit starts through the Docker API
// when BUILDKIT_HOST is unset, no buildx builder is selected and the Docker
// daemon's built-in BuildKit cannot do the build.
var (
	BuildkitImage = Knob{Env: "MUSLRUST_CHEF_BUILDKIT_IMAGE",
		Help: "BuildKit image started when no BuildKit is configured (repo:tag@sha256:..., e.g. a mirror); default: moby/buildkit pinned by tag and digest (pkg/buildkit.DefaultImage)"}
	BuildkitNetwork = Knob{Env: "MUSLRUST_CHEF_BUILDKIT_NETWORK",
		Help: "Docker network mode of that container; host reaches registries on this machine's loopback; default: the daemon's bridge"}
	BuildkitContainer = Knob{Env: "MUSLRUST_CHEF_BUILDKIT_CONTAINER",
		Help: "name of that container (its volume: the name plus _state); default: muslrust-chef-buildkit"}
	BuildkitdConfig = Knob{Env: "MUSLRUST_CHEF_BUILDKITD_CONFIG",
		Help: "a buildkitd.toml copied into that container (registry mirrors, plain-HTTP registries); default: none"}
)

// BuildkitOptions turns the environment into options for buildkit.Connect:
// the BuildKit container's image, name, network and buildkitd.toml, the
// Docker config directory when DOCKER_CONFIG is set, because the Docker CLI
// library resolves it once per process, and the standard variables of
// BuildKit's and Docker's tools (BUILDKIT_HOST, BUILDKIT_PROGRESS,
// DOCKER_HOST, DOCKER_CONTEXT, SOURCE_DATE_EPOCH), which pkg/buildkit does
// not read itself.
func BuildkitOptions() ([]buildkit.Option, error) {
	var opts []buildkit.Option
	if img := BuildkitImage.Value(nil); img != "" {
		opts = append(opts, buildkit.WithBuildkitImage(img))
	}
	if n := BuildkitContainer.Value(nil); n != "" {
		opts = append(opts, buildkit.WithContainerName(n))
	}
	if n := BuildkitNetwork.Value(nil); n != "" {
		opts = append(opts, buildkit.WithContainerNetwork(n))
	}
	if f := BuildkitdConfig.Value(nil); f != "" {
		toml, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s=%s cannot be read (%v): point it at a buildkitd.toml, or unset it", BuildkitdConfig.Env, f, err)
		}
		opts = append(opts, buildkit.WithBuildkitdConfig(toml))
	}
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		opts = append(opts, buildkit.WithDockerConfigDir(dir))
	}
	if h := os.Getenv(buildkit.HostEnv); h != "" {
		opts = append(opts, buildkit.WithHostFrom(h, buildkit.HostEnv))
	}
	if m := os.Getenv(buildkit.ProgressEnv); m != "" {
		opts = append(opts, buildkit.WithProgressMode(m, buildkit.ProgressEnv))
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		opts = append(opts, buildkit.WithDockerHost(h))
	}
	if c := os.Getenv("DOCKER_CONTEXT"); c != "" {
		opts = append(opts, buildkit.WithDockerContext(c))
	}
	if e := os.Getenv(buildkit.SourceDateEpochEnv); e != "" {
		opts = append(opts, buildkit.WithSourceDateEpoch(e))
	}
	return opts, nil
}
