package option

// The options of the kit. pkg/config maps every one to its knob (a test
// fails when one is missing); the string is what a library caller sees.
const (
	// Shared by the rust:* targets.
	Bin             Name = "bin"
	Platforms       Name = "platforms"
	Dist            Name = "dist"
	Base            Name = "base image"
	Output          Name = "output"
	Image           Name = "image"
	Tags            Name = "tags"
	Source          Name = "source label"
	Revision        Name = "revision label"
	Version         Name = "version label"
	Workspace       Name = "workspace"
	PlanDir         Name = "plan directory"
	SourceDateEpoch Name = "source date epoch"

	// rust:cook and rust:build.
	Builder           Name = "builder image"
	BuilderArgs       Name = "builder arguments"
	Profile           Name = "profile"
	Features          Name = "features"
	NoDefaultFeatures Name = "no-default-features"
	Locked            Name = "locked"
	Strip             Name = "strip"
	Libc              Name = "libc"
	RequireAllocator  Name = "require-allocator"
	RustFlags         Name = "rustflags"
	Strategy          Name = "strategy"
	Timings           Name = "timings file"

	// image:* (the builder image and index merging).
	PublishImage     Name = "publish image"
	BuilderOutput    Name = "builder output"
	MuslrustImage    Name = "muslrust image"
	CargoChefVersion Name = "cargo-chef version"
	CargoChefSHA256  Name = "cargo-chef sha256"
	CargoChefURL     Name = "cargo-chef URL"
	CrossToolchain   Name = "cross toolchain"
	Cache            Name = "cache"
	MainBranch       Name = "main branch"
	PushByDigest     Name = "push-by-digest"
	Digests          Name = "digests"

	// Registry deadlines.
	RegistryTimeout Name = "registry timeout"
	PushTimeout     Name = "push timeout"

	// BuildKit and the Docker daemon.
	BuildkitImage     Name = "BuildKit image"
	BuildkitNetwork   Name = "BuildKit network"
	BuildkitContainer Name = "BuildKit container"
	BuildkitdConfig   Name = "buildkitd config"
	BuildkitHost      Name = "BuildKit host"
	BuildkitHostAmd64 Name = "BuildKit host for amd64"
	BuildkitHostArm64 Name = "BuildKit host for arm64"
	BuildkitProgress  Name = "BuildKit progress"
	DockerHost        Name = "Docker host"
	DockerContext     Name = "Docker context"
	DockerConfig      Name = "Docker config directory"

	// CI inputs: GitHub Actions and docker/metadata-action.
	GitHubRef      Name = "GitHub ref"
	GitHubHeadRef  Name = "GitHub head ref"
	GitHubOutput   Name = "GitHub output"
	GitHubSummary  Name = "GitHub step summary"
	DockerMetadata Name = "Docker metadata"
	SSHAgent       Name = "SSH agent"
)
