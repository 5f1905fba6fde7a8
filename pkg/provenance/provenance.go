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
//     repository name (publish.Result / pipeline.Slim's index, one descriptor
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
//     (Config.BuilderArgs or builder.DefaultMuslrustImage, pinned by
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
	ita "github.com/in-toto/attestation/go/v1"
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
