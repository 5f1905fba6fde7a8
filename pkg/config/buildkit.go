package config

import (
	"os"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
)

// The knobs of the BuildKit container the kit starts through the Docker API
// when BUILDKIT_HOST is unset, no buildx builder is selected and the Docker
// daemon's built-in BuildKit cannot do the build.
var (
	// BuildkitImage: BuildKit image started when no BuildKit is configured (repo:tag@sha256:..., e.g. a mirror); default: moby/buildkit pinned by tag and digest (pkg/buildkit.DefaultImage).
	BuildkitImage = Knob{Env: "MUSLRUST_CHEF_BUILDKIT_IMAGE"}
	// BuildkitNetwork: Docker network mode of that container; host reaches registries on this machine's loopback; default: the daemon's bridge.
	BuildkitNetwork = Knob{Env: "MUSLRUST_CHEF_BUILDKIT_NETWORK"}
	// BuildkitContainer: name of that container (its volume: the name plus _state); default: muslrust-chef-buildkit.
	BuildkitContainer = Knob{Env: "MUSLRUST_CHEF_BUILDKIT_CONTAINER"}
	// BuildkitdConfig: a buildkitd.toml copied into that container (registry mirrors, plain-HTTP registries); default: none.
	BuildkitdConfig = Knob{Env: "MUSLRUST_CHEF_BUILDKITD_CONFIG"}
)

// The BuildKit of each architecture, for a split build of several
// platforms from one run (see pkg/buildkit.Nodes).
var (
	// BuildkitHostAmd64: BuildKit address (BUILDKIT_HOST's syntax) that builds linux/amd64 when MUSLRUST_CHEF_STRATEGY=split spreads several platforms over several BuildKit nodes; wins over the buildx builder's nodes; default: none.
	BuildkitHostAmd64 = Knob{Env: "MUSLRUST_CHEF_BUILDKIT_HOST_AMD64"}
	// BuildkitHostArm64: the same for linux/arm64.
	BuildkitHostArm64 = Knob{Env: "MUSLRUST_CHEF_BUILDKIT_HOST_ARM64"}
)

// platformHosts pairs each per-architecture host knob with its platform.
var platformHosts = []struct {
	platform string
	knob     *Knob
}{{"linux/amd64", &BuildkitHostAmd64}, {"linux/arm64", &BuildkitHostArm64}}

// BuildkitOptions turns the environment into options for buildkit.Connect,
// which reads none itself: BUILDKIT_HOST, DOCKER_HOST, the BuildKit
// container's image, name, network and buildkitd.toml, DOCKER_CONFIG (the
// Docker CLI library would resolve it once per process), BUILDKIT_PROGRESS,
// DOCKER_CONTEXT, SOURCE_DATE_EPOCH and the per-architecture hosts of a
// split build (MUSLRUST_CHEF_BUILDKIT_HOST_<ARCH>).
func BuildkitOptions() ([]buildkit.Option, error) {
	var opts []buildkit.Option
	for _, h := range platformHosts {
		if a := h.knob.Value(nil); a != "" {
			opts = append(opts, buildkit.WithPlatformHost(h.platform, a, h.knob.Env))
		}
	}
	if h := BuildkitHost.Value(nil); h != "" {
		// Connect's log line and errors name where the address came from.
		opts = append(opts, buildkit.WithHostFrom(h, BuildkitHost.Env))
	}
	if h := DockerHost.Value(nil); h != "" {
		opts = append(opts, buildkit.WithDockerHost(h))
	}
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
			return nil, option.Usagef("%s=%s cannot be read (%w): point it at a buildkitd.toml, or unset it", BuildkitdConfig.Env, f, err)
		}
		opts = append(opts, buildkit.WithBuildkitdConfig(toml))
	}
	if dir := DockerConfig.Value(nil); dir != "" {
		opts = append(opts, buildkit.WithDockerConfigDir(dir))
	}
	if m := BuildkitProgress.Value(nil); m != "" {
		opts = append(opts, buildkit.WithProgressMode(m, BuildkitProgress.Env))
	}
	if c := DockerContext.Value(nil); c != "" {
		opts = append(opts, buildkit.WithDockerContext(c))
	}
	// Only when set: its default (0) is for the image's created time, and
	// a build argument changes BuildKit's cache keys.
	if e, ok := SourceDateEpoch.Lookup(nil); ok {
		opts = append(opts, buildkit.WithSourceDateEpoch(e))
	}
	return opts, nil
}

// The environment of the Docker and BuildKit command-line tools, honoured
// the same way: pkg/buildkit takes their values as options.
var (
	// BuildkitHost: the BuildKit daemon's address (buildctl's variable); wins over buildx and Docker.
	BuildkitHost = Knob{Env: "BUILDKIT_HOST"}
	// BuildkitProgress: auto, plain, tty or quiet, as with docker buildx build.
	BuildkitProgress = Knob{Env: "BUILDKIT_PROGRESS"}
	// DockerHost: the Docker daemon's address.
	DockerHost = Knob{Env: "DOCKER_HOST"}
	// DockerContext: the Docker context whose endpoint and buildx builder are used.
	DockerContext = Knob{Env: "DOCKER_CONTEXT"}
	// DockerConfig: the Docker CLI's configuration directory (credentials, contexts, buildx).
	DockerConfig = Knob{Env: "DOCKER_CONFIG"}
)
