package config

import (
	"os"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
)

// BuildkitImage is the image of the BuildKit container the kit starts
// through the Docker API when BUILDKIT_HOST is unset, no buildx builder is
// selected and the Docker daemon's built-in BuildKit cannot do the build.
var BuildkitImage = Knob{Env: "MUSLRUST_CHEF_BUILDKIT_IMAGE",
	Help: "BuildKit image started when no BuildKit is configured (repo:tag@sha256:..., e.g. a mirror); default: moby/buildkit pinned by tag and digest (pkg/buildkit.DefaultImage)"}

// BuildkitOptions turns the environment into options for buildkit.Connect:
// the BuildKit image to start, and the Docker config directory when
// DOCKER_CONFIG is set, because the Docker CLI library resolves it once per
// process. BUILDKIT_HOST is read by buildkit.Connect itself.
func BuildkitOptions() []buildkit.Option {
	var opts []buildkit.Option
	if img := BuildkitImage.Value(nil); img != "" {
		opts = append(opts, buildkit.WithBuildkitImage(img))
	}
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		opts = append(opts, buildkit.WithDockerConfigDir(dir))
	}
	return opts
}
