package pipeline

import (
	"io"
	"os"
	"time"

	"github.com/muslrust-chef/muslrust-chef/pkg/buildkit"
	"github.com/muslrust-chef/muslrust-chef/pkg/chef"
	"github.com/muslrust-chef/muslrust-chef/pkg/option"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
	"github.com/muslrust-chef/muslrust-chef/pkg/publish"
	"github.com/muslrust-chef/muslrust-chef/pkg/slim"
)

// Option sets what Build, Cook and Slim take besides the configuration.
type Option func(*options)

type options struct {
	connect      []buildkit.Option
	gitHubOutput string
	stdout, log  io.Writer
	labels       slim.Labels
	created      time.Time
	host         platform.Platform
	registry     []publish.RegistryOption
	credentials  Credentials
	workspace    *chef.Workspace
	names        func(option.Ref) string
	kitVersion   string
}

func newOptions(opts []Option) *options {
	o := &options{stdout: os.Stdout, log: io.Discard}
	for _, opt := range opts {
		opt(o)
	}
	if o.host.Arch == "" {
		o.host, _ = platform.Host()
	}
	return o
}

// WithConnectOptions are passed to buildkit.Connect, which tries in its
// order: the host given, the current buildx builder, the Docker daemon's
// BuildKit when it can do what the build needs, else a BuildKit container
// started (or reused) through the Docker API.
func WithConnectOptions(opts ...buildkit.Option) Option {
	return func(o *options) { o.connect = append(o.connect, opts...) }
}

// WithGitHubOutput appends the step outputs (image, digest, platform) to
// file ($GITHUB_OUTPUT in Actions); without it nothing is written.
func WithGitHubOutput(file string) Option { return func(o *options) { o.gitHubOutput = file } }

// WithStdout receives the published reference (default os.Stdout).
func WithStdout(w io.Writer) Option { return func(o *options) { o.stdout = w } }

// WithLog receives the progress lines (default: discarded).
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithLabels are the image's OCI labels; a version label left empty is
// the image tag's (unless latest).
func WithLabels(l slim.Labels) Option { return func(o *options) { o.labels = l } }

// WithCreated is the image's creation time (SOURCE_DATE_EPOCH).
func WithCreated(t time.Time) Option { return func(o *options) { o.created = t } }

// WithHost is the platform tar and docker outputs hold (default: this
// machine's), and the one the cross stages prefer to run on.
func WithHost(p platform.Platform) Option { return func(o *options) { o.host = p } }

// WithRegistryOptions reach every registry push (deadlines, transports).
func WithRegistryOptions(opts ...publish.RegistryOption) Option {
	return func(o *options) { o.registry = append(o.registry, opts...) }
}

// WithCredentials pass private dependencies' credentials to cargo.
func WithCredentials(c Credentials) Option { return func(o *options) { o.credentials = c } }

// WithOptionNames spells the options that log lines mention (the mage
// targets pass config.KnobName); errors keep option.Error's rendering for
// the caller to name.
func WithOptionNames(names func(option.Ref) string) Option {
	return func(o *options) { o.names = names }
}

// WithWorkspace is the workspace as already read (chef.Load) for
// Config.Workspace, so that it is not read a second time.
func WithWorkspace(ws *chef.Workspace) Option { return func(o *options) { o.workspace = ws } }

// WithKitVersion is the kit's version as the records name it (the SBOMs'
// tool, the provenance's builder version); default "devel".
func WithKitVersion(v string) Option { return func(o *options) { o.kitVersion = v } }
