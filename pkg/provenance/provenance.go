// Package provenance writes and reads the build provenance of one platform
// image: an in-toto Statement v1 whose predicate is SLSA Provenance v1
// (https://slsa.dev/provenance/v1), built with the in-toto attestation Go
// module's types and validators.
//
// What it records, and where each input comes from in today's pipeline
// (pkg/pipeline; the wiring is a later change to rust:build, after the
// restructuring of issue 14):
//
//   - Subject: the platform image manifest's digest under the image's
//     repository name (publish.Result / slim.Ship's index, one descriptor
//     per platform; for split, pushByDigest's digest), and, as a second
//     subject, the sha256 of the binary (Result.Binaries[p], the file
//     dist/<os>_<arch>/<bin> that slim packs).
//   - Cargo invocation: the platform's cargo.Flags (Config.Flags in
//     config.go for emulate and split; Target.Flags plus
//     Target.Toolchain.Env and "cargo-zigbuild" for cross, as prepare in
//     run.go logs them), WithCargo.
//   - Builder: a published builder image is Builder.Ref and the digest of
//     Builder.Pinned (inspectBuilder in builder.go), WithBuilderImage. The
//     embedded builder (embeddedBuilder in embedded.go) has no image
//     digest before the solve, so it is recorded as the sha256 of the
//     composed builder Dockerfile (composeDockerfile's builder stage, i.e.
//     images/muslrust-chef.Dockerfile) and its base image MUSLRUST_IMAGE
//     (Config.BuilderArgs or baseimage.DefaultMuslrustImage, pinned by
//     digest), WithEmbeddedBuilder.
//   - Runtime base: Config.Base or slim.DefaultBase, with the digest slim
//     resolved for this platform, WithRuntimeBase.
//   - Source: the repository URI and commit the orchestrator knows (the
//     CI's checkout; the kit reads no environment), WithSource.
//   - Recipe digest: Result.Plan.Recipe.Digest(), WithRecipeDigest.
//   - SOURCE_DATE_EPOCH: Runtime.Created (what slim stamps),
//     WithSourceDateEpoch.
//   - Cook reused: !Result.StageRun(app.StageCook, ...).Cached is "ran",
//     and the cook key (pkg/cookkey) of this build, WithCook; it lands in
//     internalParameters.cook so the next run can read it back.
//   - Kit version: the version rust:build reports, WithKitVersion.
//
// Nothing here reads the environment, the clock or the network, and the
// predicate has no timestamps: the same inputs give byte-identical
// statements (Statement), so two builds of the same commit can be compared
// with cmp. Signing is out of scope: the statement is the payload a team
// signs with its own tool (cosign attest --type slsaprovenance1, or any
// DSSE signer).
//
// Attaching it: like the SBOM, the statement becomes an OCI referrer of
// the platform manifest: an image (empty.Image plus one layer,
// static.NewLayer(statement, MediaType) annotated AnnotationPredicateType
// = PredicateType) whose config media type is MediaType
// (mutate.ConfigMediaType; go-containerregistry has no artifactType
// setter, and the OCI distribution spec makes registries report the
// config media type as the referrer's artifactType) and whose subject is
// the platform manifest's descriptor (mutate.Subject), pushed by digest
// with remote.Write, which uses the registry's referrers API or maintains
// the referrers tag schema fallback (sha256-<hex>) itself. Nothing in it
// carries a timestamp (empty.Image has none), so the referrer's digest is
// reproducible too. For OCI-layout and tarball outputs it is written beside
// the SBOM as FileName(bin), through a temporary file and a rename
// (sbom.WriteFile).
//
// Reading it back: Parse returns the Record; `-compare=<ref>` would list
// the referrers of <ref>'s platform manifest (remote.Referrers filtered by
// MediaType), fetch the layer, Parse it and hand Record.Cook.Key to
// cookkey.WhyCookRan as the previous record.
package provenance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/cookkey"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

const (
	// StatementType is the in-toto Statement v1 type.
	StatementType = ita.StatementTypeUri
	// PredicateType is SLSA Provenance v1.
	PredicateType = "https://slsa.dev/provenance/v1"
	// BuildType names this kit's build: it fixes the meaning of
	// externalParameters and internalParameters (the JSON forms of
	// ExternalParameters and InternalParameters below). A new field that
	// old readers can ignore keeps it; a changed meaning needs v2.
	BuildType = "https://github.com/muslrust-chef/muslrust-chef/buildtypes/rust-build/v1"
	// DefaultBuilderID is runDetails.builder.id when WithBuilderID is not
	// given: the kit itself, its version in builder.version.
	DefaultBuilderID = "https://github.com/muslrust-chef/muslrust-chef"
	// MediaType is the statement's media type: the referrer's layer and
	// config media type (hence artifactType), and the media type of the
	// file beside the binary.
	MediaType = "application/vnd.in-toto+json"
	// AnnotationPredicateType is the layer annotation naming the
	// predicate, as BuildKit's attestations carry it.
	AnnotationPredicateType = "in-toto.io/predicate-type"
	// KitName is the key of the kit's version in runDetails.builder.version.
	KitName = "muslrust-chef"
)

// Names of the resolvedDependencies, one per role.
const (
	DepSource            = "source"
	DepBuilderImage      = "builder-image"
	DepBuilderDockerfile = "builder-dockerfile"
	DepBuilderBase       = "builder-base"
	DepRuntimeBase       = "runtime-base"
	DepRecipe            = "recipe.json"
)

// FileName is the statement's name beside the binary in dist/<os>_<arch>/
// or an OCI layout.
func FileName(binary string) string { return binary + ".provenance.json" }

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

var sha256Digest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func checkDigest(what, d string) error {
	if !sha256Digest.MatchString(d) {
		return fmt.Errorf("provenance: %s digest %q is not sha256:<64 lowercase hex>: pass the digest the registry or sha256 gave", what, d)
	}
	return nil
}

func (r *Record) check() error {
	if r.Subject.Name == "" {
		return errors.New("provenance: the subject has no image name: pass the image's repository")
	}
	if err := checkDigest("subject", r.Subject.Digest); err != nil {
		return err
	}
	if _, err := platform.Parse(r.Subject.Platform.String()); err != nil {
		return fmt.Errorf("provenance: subject platform: %w", err)
	}
	if r.Binary != nil {
		if r.Binary.Name == "" {
			return errors.New("provenance: the binary has no name: pass its file name")
		}
		if err := checkDigest("binary", r.Binary.Digest); err != nil {
			return err
		}
	}
	if err := r.Cargo.Flags.Validate(); err != nil {
		return fmt.Errorf("provenance: cargo invocation: %w", err)
	}
	b := r.Builder
	switch {
	case b.Image != nil && (b.DockerfileDigest != "" || b.Base != nil):
		return errors.New("provenance: both a builder image and the embedded builder were given: pass one")
	case b.Image == nil && b.Base == nil:
		return errors.New("provenance: no builder: pass WithBuilderImage or WithEmbeddedBuilder")
	case b.Image != nil:
		if err := checkImage("builder image", b.Image); err != nil {
			return err
		}
	default:
		if err := checkDigest("builder Dockerfile", b.DockerfileDigest); err != nil {
			return err
		}
		if err := checkImage("builder base image", b.Base); err != nil {
			return err
		}
	}
	if r.RuntimeBase != nil && r.RuntimeBase.Ref != "scratch" {
		if err := checkImage("runtime base image", r.RuntimeBase); err != nil {
			return err
		}
	}
	if r.Source != nil && r.Source.URI == "" {
		return errors.New("provenance: the source has no repository URI: pass it with the revision")
	}
	if r.RecipeDigest != "" {
		if err := checkDigest("recipe", r.RecipeDigest); err != nil {
			return err
		}
	}
	if r.SourceDateEpoch < 0 {
		return fmt.Errorf("provenance: SOURCE_DATE_EPOCH %d is negative: pass seconds since 1970", r.SourceDateEpoch)
	}
	if r.BuilderID == "" || r.KitVersion == "" {
		return errors.New("provenance: the builder id and kit version must not be empty")
	}
	return nil
}

func checkImage(what string, im *Image) error {
	if im.Ref == "" {
		return fmt.Errorf("provenance: the %s has no reference: pass the reference as configured", what)
	}
	return checkDigest(what, im.Digest)
}

// ExternalParameters is the JSON form of buildDefinition.externalParameters
// under BuildType: what the user chose.
type ExternalParameters struct {
	Platform     string        `json:"platform"`
	Source       *SourceParams `json:"source,omitempty"`
	Cargo        CargoParams   `json:"cargo"`
	BuilderImage string        `json:"builderImage,omitempty"`
	BuilderBase  string        `json:"builderBase,omitempty"`
	RuntimeBase  string        `json:"runtimeBase,omitempty"`
}

// SourceParams is the source repository and revision.
type SourceParams struct {
	URI      string `json:"uri"`
	Revision string `json:"revision,omitempty"`
}

// CargoParams is the cargo invocation: Args and Env are what cook and
// build ran (derived from the flags, for people and policy engines); the
// other fields are the flags themselves.
type CargoParams struct {
	Program           string   `json:"program"`
	Args              []string `json:"args"`
	Env               []string `json:"env"`
	Profile           string   `json:"profile"`
	Triple            string   `json:"triple"`
	Features          []string `json:"features,omitempty"`
	AllFeatures       bool     `json:"allFeatures,omitempty"`
	NoDefaultFeatures bool     `json:"noDefaultFeatures,omitempty"`
	Package           string   `json:"package,omitempty"`
	Bin               string   `json:"bin,omitempty"`
	Locked            bool     `json:"locked,omitempty"`
	RustFlags         string   `json:"rustflags"`
	Strip             bool     `json:"strip,omitempty"`
	TargetDir         string   `json:"targetDir,omitempty"`
	ToolchainEnv      []string `json:"toolchainEnv,omitempty"`
}

// InternalParameters is the JSON form of
// buildDefinition.internalParameters under BuildType: what the kit chose
// or found.
type InternalParameters struct {
	RecipeDigest    string     `json:"recipeDigest,omitempty"`
	SourceDateEpoch int64      `json:"sourceDateEpoch"`
	Cook            CookParams `json:"cook"`
}

// CookParams is whether cook was reused and its key record.
type CookParams struct {
	Reused bool         `json:"reused"`
	Key    *cookkey.Key `json:"key,omitempty"`
}

func (r *Record) external() ExternalParameters {
	f := r.Cargo.Flags
	e := ExternalParameters{Platform: r.Subject.Platform.String(), Cargo: CargoParams{
		Program: r.Cargo.Program, Args: f.BuildArgs(), Env: f.Env(), Profile: f.ProfileName(), Triple: f.Triple,
		Features: f.Features, AllFeatures: f.AllFeatures, NoDefaultFeatures: f.NoDefaultFeatures,
		Package: f.Package, Bin: f.Bin, Locked: f.Locked, RustFlags: f.RustFlags, Strip: f.Strip,
		TargetDir: f.TargetDir, ToolchainEnv: r.Cargo.ToolchainEnv,
	}}
	if len(e.Cargo.Features) == 0 {
		e.Cargo.Features = nil
	}
	if len(e.Cargo.ToolchainEnv) == 0 {
		e.Cargo.ToolchainEnv = nil
	}
	if r.Source != nil {
		e.Source = &SourceParams{URI: r.Source.URI, Revision: r.Source.Revision}
	}
	if r.Builder.Image != nil {
		e.BuilderImage = r.Builder.Image.Ref
	}
	if r.Builder.Base != nil {
		e.BuilderBase = r.Builder.Base.Ref
	}
	if r.RuntimeBase != nil {
		e.RuntimeBase = r.RuntimeBase.Ref
	}
	return e
}

func hexOf(d string) string { return strings.TrimPrefix(d, "sha256:") }

var gitCommit = regexp.MustCompile(`^[0-9a-f]{40}$`)

func (r *Record) dependencies() []*ita.ResourceDescriptor {
	var deps []*ita.ResourceDescriptor
	img := func(name string, im *Image) {
		if im != nil && im.Digest != "" {
			deps = append(deps, &ita.ResourceDescriptor{Name: name, Digest: map[string]string{"sha256": hexOf(im.Digest)}})
		}
	}
	if s := r.Source; s != nil {
		d := &ita.ResourceDescriptor{Name: DepSource, Uri: s.URI}
		if gitCommit.MatchString(s.Revision) {
			d.Digest = map[string]string{"gitCommit": s.Revision}
		}
		deps = append(deps, d)
	}
	img(DepBuilderImage, r.Builder.Image)
	if r.Builder.DockerfileDigest != "" {
		deps = append(deps, &ita.ResourceDescriptor{Name: DepBuilderDockerfile, Digest: map[string]string{"sha256": hexOf(r.Builder.DockerfileDigest)}})
	}
	img(DepBuilderBase, r.Builder.Base)
	img(DepRuntimeBase, r.RuntimeBase)
	if r.RecipeDigest != "" {
		deps = append(deps, &ita.ResourceDescriptor{Name: DepRecipe, Digest: map[string]string{"sha256": hexOf(r.RecipeDigest)}})
	}
	return deps
}

// toStruct turns a JSON-tagged Go value into a protobuf Struct.
func toStruct(v any) (*structpb.Struct, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(b, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Statement renders the record as in-toto Statement v1 JSON. The bytes
// depend only on the record: protojson writes fields in proto order and
// map keys sorted, and its deliberately unstable whitespace is removed by
// re-indenting.
func (r *Record) Statement() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	ext, err := toStruct(r.external())
	if err != nil {
		return nil, fmt.Errorf("provenance: externalParameters: %w", err)
	}
	internal, err := toStruct(InternalParameters{RecipeDigest: r.RecipeDigest, SourceDateEpoch: r.SourceDateEpoch, Cook: CookParams{Reused: r.Cook.Reused, Key: r.Cook.Key}})
	if err != nil {
		return nil, fmt.Errorf("provenance: internalParameters: %w", err)
	}
	pred := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{BuildType: BuildType, ExternalParameters: ext, InternalParameters: internal, ResolvedDependencies: r.dependencies()},
		RunDetails:      &slsa.RunDetails{Builder: &slsa.Builder{Id: r.BuilderID, Version: map[string]string{KitName: r.KitVersion}}},
	}
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: the SLSA predicate is invalid: %w", err)
	}
	predJSON, err := protojson.Marshal(pred)
	if err != nil {
		return nil, fmt.Errorf("provenance: encoding the predicate: %w", err)
	}
	predStruct := &structpb.Struct{}
	if err := protojson.Unmarshal(predJSON, predStruct); err != nil {
		return nil, fmt.Errorf("provenance: encoding the predicate: %w", err)
	}
	subjects := []*ita.ResourceDescriptor{{Name: r.Subject.Name, Digest: map[string]string{"sha256": hexOf(r.Subject.Digest)}}}
	if r.Binary != nil {
		subjects = append(subjects, &ita.ResourceDescriptor{Name: r.Binary.Name, Digest: map[string]string{"sha256": hexOf(r.Binary.Digest)}})
	}
	st := &ita.Statement{Type: StatementType, Subject: subjects, PredicateType: PredicateType, Predicate: predStruct}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: the in-toto statement is invalid: %w", err)
	}
	raw, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("provenance: encoding the statement: %w", err)
	}
	// json.Indent drops the whitespace between tokens it is given.
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, fmt.Errorf("provenance: encoding the statement: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// Parse reads a statement written by Statement (a referrer's layer, or
// the file beside the binary) back into its record.
func Parse(doc []byte) (*Record, error) {
	var st ita.Statement
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(doc, &st); err != nil {
		return nil, fmt.Errorf("provenance: not an in-toto statement: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: not a valid in-toto statement: %w", err)
	}
	if st.GetType() != StatementType || st.GetPredicateType() != PredicateType {
		return nil, fmt.Errorf("provenance: statement %s with predicate %s, want %s with %s: read the provenance muslrust-chef attached", st.GetType(), st.GetPredicateType(), StatementType, PredicateType)
	}
	predJSON, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("provenance: reading the predicate: %w", err)
	}
	var pred slsa.Provenance
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(predJSON, &pred); err != nil {
		return nil, fmt.Errorf("provenance: the predicate is not SLSA provenance v1: %w", err)
	}
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: the predicate is not valid SLSA provenance v1: %w", err)
	}
	bd := pred.GetBuildDefinition()
	if bd.GetBuildType() != BuildType {
		return nil, fmt.Errorf("provenance: build type %s, this kit reads %s: the image was not built by this kit version", bd.GetBuildType(), BuildType)
	}
	var ext ExternalParameters
	var internal InternalParameters
	if err := fromStruct(bd.GetExternalParameters(), &ext); err != nil {
		return nil, fmt.Errorf("provenance: externalParameters: %w", err)
	}
	if err := fromStruct(bd.GetInternalParameters(), &internal); err != nil {
		return nil, fmt.Errorf("provenance: internalParameters: %w", err)
	}
	p, err := platform.Parse(ext.Platform)
	if err != nil {
		return nil, fmt.Errorf("provenance: externalParameters.platform: %w", err)
	}
	subj := st.GetSubject()
	r := &Record{
		Subject:    Subject{Name: subj[0].GetName(), Digest: "sha256:" + subj[0].GetDigest()["sha256"], Platform: p},
		KitVersion: pred.GetRunDetails().GetBuilder().GetVersion()[KitName],
		BuilderID:  pred.GetRunDetails().GetBuilder().GetId(),
		Cargo: Cargo{Program: ext.Cargo.Program, ToolchainEnv: ext.Cargo.ToolchainEnv, Flags: cargo.Flags{
			Profile: ext.Cargo.Profile, Triple: ext.Cargo.Triple, TargetDir: ext.Cargo.TargetDir, Features: ext.Cargo.Features,
			AllFeatures: ext.Cargo.AllFeatures, NoDefaultFeatures: ext.Cargo.NoDefaultFeatures, Package: ext.Cargo.Package,
			Bin: ext.Cargo.Bin, Locked: ext.Cargo.Locked, RustFlags: ext.Cargo.RustFlags, Strip: ext.Cargo.Strip,
		}},
		RecipeDigest:    internal.RecipeDigest,
		SourceDateEpoch: internal.SourceDateEpoch,
		Cook:            Cook{Reused: internal.Cook.Reused, Key: internal.Cook.Key},
	}
	if len(subj) > 1 {
		r.Binary = &Binary{Name: subj[1].GetName(), Digest: "sha256:" + subj[1].GetDigest()["sha256"]}
	}
	deps := map[string]*ita.ResourceDescriptor{}
	for _, d := range bd.GetResolvedDependencies() {
		deps[d.GetName()] = d
	}
	digest := func(name string) string {
		if h := deps[name].GetDigest()["sha256"]; h != "" {
			return "sha256:" + h
		}
		return ""
	}
	if ext.Source != nil {
		r.Source = &Source{URI: ext.Source.URI, Revision: ext.Source.Revision}
	}
	if ext.BuilderImage != "" {
		r.Builder.Image = &Image{Ref: ext.BuilderImage, Digest: digest(DepBuilderImage)}
	}
	if ext.BuilderBase != "" {
		r.Builder.Base = &Image{Ref: ext.BuilderBase, Digest: digest(DepBuilderBase)}
		r.Builder.DockerfileDigest = digest(DepBuilderDockerfile)
	}
	if ext.RuntimeBase != "" {
		r.RuntimeBase = &Image{Ref: ext.RuntimeBase, Digest: digest(DepRuntimeBase)}
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("%w (in a statement read back: read one muslrust-chef wrote)", err)
	}
	return r, nil
}

func fromStruct(s *structpb.Struct, v any) error {
	if s == nil {
		return errors.New("missing")
	}
	b, err := protojson.Marshal(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// DigestBytes is "sha256:<hex>" of b: the embedded builder's Dockerfile.
func DigestBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// DigestFile is "sha256:<hex>" of a file: the binary subject.
func DigestFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("provenance: hashing %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("provenance: hashing %s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
