package provenance

import (
	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/cookkey"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

// Image is a container image as configured and what it resolved to.
type Image struct {
	// Ref is the reference as configured ("registry/repo:tag", possibly
	// with @sha256:...).
	Ref string
	// Digest is "sha256:<hex>": the manifest or index the ref resolved to.
	Digest string
}

// Subject is the platform image the statement is about.
type Subject struct {
	// Name is the image's repository ("registry/repo").
	Name string
	// Digest is the platform manifest's digest, "sha256:<hex>".
	Digest   string
	Platform platform.Platform
}

// Binary is the executable in the image, the statement's second subject.
type Binary struct {
	Name   string // the file name, e.g. "app"
	Digest string // "sha256:<hex>" of the file
}

// Cargo is the cargo invocation of cook and build for this platform.
type Cargo struct {
	// Program is "cargo" or "cargo-zigbuild" (cross with zig).
	Program string
	Flags   cargo.Flags
	// ToolchainEnv are the extra environment entries the build sets
	// (CC_<triple>, linker), "KEY=VALUE", as the build log shows them.
	ToolchainEnv []string
}

// Builder is where cargo ran: a published builder image, or the kit's
// embedded builder Dockerfile on its base image.
type Builder struct {
	Image *Image
	// DockerfileDigest is "sha256:<hex>" of the embedded builder's
	// Dockerfile; Base is the image it starts from.
	DockerfileDigest string
	Base             *Image
}

// Source is the repository and revision built.
type Source struct {
	// URI is the repository, e.g. "git+https://host/org/repo".
	URI string
	// Revision is the commit (a 40-hex git commit is also recorded as
	// the source dependency's gitCommit digest).
	Revision string
}

// Cook says whether the cook layer was reused and which inputs keyed it.
type Cook struct {
	Reused bool
	Key    *cookkey.Key
}

// Record is everything a statement says, as typed values: what New
// assembles from the options and Parse reads back.
type Record struct {
	Subject         Subject
	Binary          *Binary
	Cargo           Cargo
	Builder         Builder
	RuntimeBase     *Image
	Source          *Source
	KitVersion      string
	BuilderID       string
	RecipeDigest    string
	SourceDateEpoch int64
	Cook            Cook
}

// Option sets one input of the record.
type Option func(*Record)

// WithBinary adds the binary as a second subject.
func WithBinary(name, digest string) Option {
	return func(r *Record) { r.Binary = &Binary{Name: name, Digest: digest} }
}

// WithCargo records the cargo invocation. program "" means "cargo".
func WithCargo(program string, f cargo.Flags, toolchainEnv ...string) Option {
	return func(r *Record) {
		if program == "" {
			program = "cargo"
		}
		f.Features = append([]string(nil), f.Features...)
		r.Cargo = Cargo{Program: program, Flags: f, ToolchainEnv: append([]string(nil), toolchainEnv...)}
	}
}

// WithBuilderImage records a published builder image.
func WithBuilderImage(ref, digest string) Option {
	return func(r *Record) { r.Builder = Builder{Image: &Image{Ref: ref, Digest: digest}} }
}

// WithEmbeddedBuilder records the embedded builder: its Dockerfile's
// digest and its base image.
func WithEmbeddedBuilder(dockerfileDigest, baseRef, baseDigest string) Option {
	return func(r *Record) {
		r.Builder = Builder{DockerfileDigest: dockerfileDigest, Base: &Image{Ref: baseRef, Digest: baseDigest}}
	}
}

// WithRuntimeBase records the image the binary was layered on.
func WithRuntimeBase(ref, digest string) Option {
	return func(r *Record) { r.RuntimeBase = &Image{Ref: ref, Digest: digest} }
}

// WithSource records the repository and revision.
func WithSource(uri, revision string) Option {
	return func(r *Record) { r.Source = &Source{URI: uri, Revision: revision} }
}

// WithKitVersion records the kit's version (default "devel").
func WithKitVersion(v string) Option { return func(r *Record) { r.KitVersion = v } }

// WithBuilderID overrides runDetails.builder.id, e.g. with the CI
// workflow's URI when the orchestrator vouches for the platform.
func WithBuilderID(id string) Option { return func(r *Record) { r.BuilderID = id } }

// WithRecipeDigest records chef.Recipe.Digest().
func WithRecipeDigest(d string) Option { return func(r *Record) { r.RecipeDigest = d } }

// WithSourceDateEpoch records SOURCE_DATE_EPOCH (seconds).
func WithSourceDateEpoch(sec int64) Option { return func(r *Record) { r.SourceDateEpoch = sec } }

// WithCook records whether cook was reused and its key (may be nil).
func WithCook(reused bool, key *cookkey.Key) Option {
	return func(r *Record) { r.Cook = Cook{Reused: reused, Key: key} }
}

// New assembles and checks a record for one platform image.
func New(subject Subject, opts ...Option) (*Record, error) {
	r := &Record{Subject: subject, KitVersion: "devel", BuilderID: DefaultBuilderID, Cargo: Cargo{Program: "cargo"}}
	for _, opt := range opts {
		opt(r)
	}
	// The platform as platform.Parse spells it (arm64 carries variant v8),
	// so a record read back equals the one written.
	if p, err := platform.Parse(r.Subject.Platform.String()); err == nil {
		r.Subject.Platform = p
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}
