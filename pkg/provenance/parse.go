package provenance

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
	"github.com/muslrust-chef/muslrust-chef/pkg/platform"
)

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
