package buildkit

import (
	"io"
	"time"

	bkclient "github.com/moby/buildkit/client"
)

// SourceDateEpochEnv is passed through to every build as a build arg: the
// BuildKit Go client (unlike buildx) does not do that by itself, and without
// it image timestamps are not reproducible.
const SourceDateEpochEnv = "SOURCE_DATE_EPOCH"

// Request is one Dockerfile build.
type Request struct {
	// ContextDir is the main build context (the "context" local).
	ContextDir string
	// ContextExcludes are .dockerignore-style patterns never sent from
	// ContextDir (target/, .git, ...), on top of its own .dockerignore.
	ContextExcludes []string
	// ContextIncludes, when set, are the only paths of ContextDir that are
	// sent (directories relative to it): everything else is never even
	// walked.
	ContextIncludes []string
	// Dockerfile is the Dockerfile path; empty means ContextDir/Dockerfile.
	// Ignored when DockerfileContent is set.
	Dockerfile string
	// DockerfileContent is an in-memory Dockerfile (for go:embed templates).
	DockerfileContent []byte
	// Platforms to build ("linux/amd64"); empty means the worker's default.
	Platforms []string
	// Target is the stage to build; empty means the last one.
	Target string
	// BuildArgs are ARG values. SOURCE_DATE_EPOCH from the environment is
	// added unless set here.
	BuildArgs map[string]string
	// NamedContexts maps a context name (used as FROM/COPY --from=<name>) to
	// a local directory, or to a BuildKit source with a scheme
	// (docker-image://ref@digest, oci-layout://...), passed as is.
	NamedContexts map[string]string
	// Secrets for RUN --mount=type=secret,id=<ID>.
	Secrets []Secret
	// SSH are SSH agents forwarded for RUN --mount=type=ssh,id=<ID>.
	SSH []SSHAgent
	// CacheFrom are registry cache refs to import (all of them; a miss is not
	// an error, so importing a branch ref and the main ref is fine).
	CacheFrom []string
	// CacheTo is the registry cache ref to export (with CacheMode); empty
	// means no cache export.
	CacheTo string
	// CacheDir is a local cache directory (BuildKit's local cache exporter,
	// an OCI layout): imported when it holds a cache, exported (with
	// CacheMode) into a sibling temporary directory that replaces it only
	// after a successful build. Empty means none.
	CacheDir string
	// CacheDirsFrom are more local cache directories imported (each when
	// it holds a cache), never exported.
	CacheDirsFrom []string
	// CacheMode is the cache export's mode: "max" (every step's layers,
	// intermediate stages too) or "min" (only the final stage's); empty
	// means max.
	CacheMode string
	// CacheAttrs are extra attributes of the cache exports (compression,
	// compression-level, ...), on top of ref/dest and mode.
	CacheAttrs map[string]string
	// Image exports an image (pushes it when Push); nil means no image.
	Image *ImageOutput
	// Local writes the final stage's files to a directory; nil means none.
	Local *LocalOutput
	// Archive streams the image as a tarball (for `docker load` or a file);
	// nil means none.
	Archive *ArchiveOutput
	// OCILayout writes the image into an OCI image layout directory; nil
	// means none.
	OCILayout *OCILayoutOutput
	// Insecure lets pushes, pulls of cache and cache exports use plain HTTP /
	// unverified TLS for every registry in this request (tests, local registries).
	Insecure bool
	// OnStatus, when set, sees every progress update (after the display).
	OnStatus func(*bkclient.SolveStatus)
	// NoDisplay shows no progress of this solve: a companion solve running
	// beside another one whose display is shown (two displays on one
	// terminal garble each other).
	NoDisplay bool
}

// Secret is one build secret. Exactly one of Value, File, Env is used.
type Secret struct {
	ID    string
	Value []byte
	File  string
	Env   string
}

// SSHAgent is one forwarded SSH agent: Paths are agent sockets (or key
// files), as `docker build --ssh id=path`.
type SSHAgent struct {
	ID    string
	Paths []string
}

// ImageOutput configures the image exporter.
type ImageOutput struct {
	// Names are the image references (tags). With PushByDigest, one
	// repository name without a tag.
	Names []string
	// Push pushes the image (an index when several platforms) to the registry.
	Push bool
	// PushByDigest pushes without a tag (for split builds merged later);
	// implies Push.
	PushByDigest bool
	// Attrs are extra exporter attributes (oci-mediatypes, compression, ...).
	Attrs map[string]string
}

// LocalOutput configures the local exporter.
type LocalOutput struct {
	// Dir receives the files. With several platforms (or SplitPlatforms)
	// each platform gets a subdirectory named like linux_amd64.
	Dir string
	// SplitPlatforms forces per-platform subdirectories even for one
	// platform, so that paths do not depend on how many platforms were built.
	SplitPlatforms bool
	// Fix ends the message refusing a Dir the kit did not write: what to
	// set instead (the option that named Dir), as an error that may name
	// options (option.Errorf).
	Fix error
}

// ArchiveOutput configures the docker/oci tarball exporters.
type ArchiveOutput struct {
	// Format is "docker" (what `docker load` reads) or "oci".
	Format string
	// Names are the image references recorded in the archive.
	Names []string
	// Writer receives the tarball; it is closed when the export ends.
	Writer io.WriteCloser
}

// OCILayoutOutput configures the oci exporter writing a layout directory.
type OCILayoutOutput struct {
	// Dir is the OCI image layout directory (created or updated).
	Dir string
	// Names are the image references recorded in index.json annotations.
	Names []string
}

// Result is what a successful Solve returns.
type Result struct {
	// Digest is the image (or index) digest the image exporter produced:
	// what was pushed. Empty without an image output.
	Digest string
	// ExporterResponse is BuildKit's raw exporter response.
	ExporterResponse map[string]string
	// Vertexes are the build steps in the order they were first reported,
	// with their final state: whether they came from cache, timings, errors.
	Vertexes []Vertex
	// Warnings are the frontend's lint and deprecation warnings.
	Warnings []string
}

// Vertex is the final state of one build step.
type Vertex struct {
	Name      string
	Cached    bool
	Started   *time.Time
	Completed *time.Time
	Error     string
}

// Executed reports whether the step really ran (started, not from cache).
func (v Vertex) Executed() bool { return !v.Cached && v.Started != nil }
