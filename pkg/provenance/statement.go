package provenance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/muslrust-chef/muslrust-chef/pkg/cookkey"
)

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
