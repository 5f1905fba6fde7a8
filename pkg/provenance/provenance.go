// Package provenance writes and reads the build provenance of one platform
// image: an in-toto Statement v1 whose predicate is SLSA Provenance v1
// (https://slsa.dev/provenance/v1), built with the in-toto attestation Go
// module's types and validators.
//
// What it records, and where pkg/pipeline's records stage (records.go,
// between slim and publish) takes each input from:
//
//   - Subject: the platform image manifest's digest (the slim index's
//     descriptor for the platform) under the image repository as the user
//     wrote it (Config.Image without its tag; the binary's name for
//     outputs without a registry), and, as a second subject, the sha256 of
//     the binary dist/<os>_<arch>/<bin>.
//   - Cargo invocation: the platform's cargo.Flags (Config.Flags for
//     emulate and split; for cross the Target's Flags, Toolchain.Env and
//     "cargo-zigbuild" when the builder declares it), WithCargo.
//   - Builder: a published builder image is Builder.Ref and the digest of
//     Builder.Pinned, WithBuilderImage. The embedded builder has no image
//     digest of its own: it is recorded as the sha256 of its Dockerfile
//     (images/muslrust-chef/Dockerfile) and its base image MUSLRUST_IMAGE
//     pinned by the digest BuildKit resolved (its FROM step), else the
//     registry's, WithEmbeddedBuilder.
//   - Runtime base: the base slim built on (Config.Base or
//     slim.DefaultBase) with the digest it read for this platform,
//     WithRuntimeBase; nothing for scratch.
//   - Source: the source and revision labels (pkg/config reads them from
//     the CI or git; the kit's libraries read no environment), WithSource.
//   - Recipe digest: the plan's Recipe.Digest(), WithRecipeDigest.
//   - SOURCE_DATE_EPOCH: the creation time slim stamps, WithSourceDateEpoch.
//   - Cook reused: Solved.StageRun(app.StageCook, ...) not Cached is
//     "ran"; with the cook key (pkg/cookkey) of this build, WithCook. It
//     lands in internalParameters.cook, where the next run reads it back.
//   - Kit version: pipeline.WithKitVersion, WithKitVersion.
//
// Nothing here reads the environment, the clock or the network, and the
// predicate has no timestamps: the same inputs give byte-identical
// statements (Statement), so two builds of the same commit can be compared
// with cmp. Signing is out of scope: the statement is the payload a team
// signs with its own tool (cosign attest --type slsaprovenance1, or any
// DSSE signer).
//
// Attaching it: like the SBOM, the statement becomes an OCI referrer of
// the platform manifest: pkg/publish writes one artifact manifest
// (artifactType MediaType, one layer annotated AnnotationPredicateType =
// PredicateType, subject the platform manifest) per document as part of
// the publish (publish.WithReferrers), through the registry's referrers
// API or the referrers tag schema fallback (sha256-<hex>), or into an
// oci:DIR layout. Nothing in it carries a timestamp, so the referrer's
// digest is reproducible too. The statement is also written beside the
// binary as dist/<os>_<arch>/FileName(bin), and beside a tar archive as
// FileName(archive), through a temporary file and a rename
// (sbom.WriteFile).
//
// Reading it back: publish.ReadRecords(ref, []string{MediaType}) returns
// each platform manifest's statement; Parse returns the Record, whose
// Cook.Key is the previous record cookkey.WhyCookRan compares with.
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
