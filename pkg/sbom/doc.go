// Package sbom lists the crates linked into one binary of a Cargo workspace
// for one target triple and feature set, and renders that list as
// CycloneDX 1.5 JSON and SPDX 2.3 JSON.
//
// The list comes from cargo's own resolve, not from Cargo.lock: the output
// of `cargo metadata --format-version 1 --filter-platform <triple>` run with
// the build's feature flags (MetadataArgs builds that command from the same
// cargo.Flags as the build, so they cannot disagree), plus Cargo.lock for
// the checksums. From the built package's node only normal dependency edges
// are followed; dev-dependencies are never followed, and build-dependencies
// and proc-macros (which run at build time and are not linked) are listed
// apart as build tools when WithBuildTools is set.
//
// cargo metadata resolves features for every workspace member and for
// dev-dependencies at once, so alone it may list an optional crate that
// only a sibling member or a dev-dependency enables (an over-, never an
// under-approximation). WithCargoTree corrects that with the output of
// `cargo tree -e normal -p <package>` (TreeArgs), which resolves as cargo
// build does; the orchestrator should run both commands.
//
// Nothing here reads the environment or the clock: the source revision,
// the SBOM timestamp (SOURCE_DATE_EPOCH) and the tool version are options,
// so the same inputs give byte-identical documents.
//
// An orchestrator calls, per platform: MetadataArgs(flags) and
// TreeArgs(flags) to run cargo where the crates are (the builder's build
// stage), then Resolve(metadata, Cargo.lock, FromFlags(flags)...,
// WithCargoTree(tree)), then CycloneDX and SPDX, and WriteFile (temp file
// + rename) beside the binary under the names FileNames gives. MediaTypeCycloneDX and MediaTypeSPDX are the
// artifact types for OCI referrers. ReadCycloneDX and WriteTable read a
// document back and print it.
package sbom
