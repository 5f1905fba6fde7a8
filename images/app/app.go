// Package app embeds the downstream build template, images/app/Dockerfile,
// so that repositories importing the kit never vendor or copy it.
package app

import _ "embed"

// Dockerfile is images/app/Dockerfile.
//
//go:embed Dockerfile
var Dockerfile []byte

// Stage names of Dockerfile, a contract with pkg/pipeline.
const (
	StageCook   = "cook"
	StageBuild  = "build"
	StageExport = "export"
	// The cross strategy's stages: run once on $BUILDPLATFORM for every
	// target triple; the export stage picks the target platform's binary.
	StageCrossBuilder = "cross-builder"
	StageCrossCook    = "cross-cook"
	StageCrossBuild   = "cross-build"
	StageCrossExport  = "cross-export"
)

// Build arguments and the named context of Dockerfile.
const (
	ArgBuilderImage = "BUILDER_IMAGE"
	// ArgCrossBuilderImage is the builder the cross stages run on
	// (FROM --platform=$BUILDPLATFORM).
	ArgCrossBuilderImage = "CROSS_BUILDER_IMAGE"
	ArgWorkspaceDir      = "WORKSPACE_DIR"
	// ArgFlagsPrefix + GOARCH ("amd64") is one architecture's flags snippet.
	ArgFlagsPrefix = "MUSLRUST_CHEF_FLAGS_"
	// ArgCross is the cross stages' one snippet for every triple;
	// ArgCrossFrom the build platform whose builder labels it was made from.
	ArgCross     = "MUSLRUST_CHEF_CROSS"
	ArgCrossFrom = "MUSLRUST_CHEF_CROSS_FROM"
	// ArgZigSeed names the stage zig's cache mount is seeded from
	// (StageCrossBuilder); ArgZigCache and ArgZigCacheSource are the
	// mount's target and the seed's path (the builder's
	// ZIG_GLOBAL_CACHE_DIR), ArgZigCacheID part of the cache id. Unset: an
	// empty mount nothing uses.
	ArgZigSeed        = "MUSLRUST_CHEF_ZIG_SEED"
	ArgZigCache       = "MUSLRUST_CHEF_ZIG_CACHE"
	ArgZigCacheSource = "MUSLRUST_CHEF_ZIG_CACHE_SOURCE"
	ArgZigCacheID     = "MUSLRUST_CHEF_ZIG_CACHE_ID"
	ContextSkeleton   = "skeleton"
	// ArgGitCLI "true" makes cook and build set CARGO_NET_GIT_FETCH_WITH_CLI
	// (git+ssh sources, fetched through the forwarded SSH agent).
	ArgGitCLI = "MUSLRUST_CHEF_GIT_CLI"
	// SecretCargoTokens is the secret of NAME=token lines the cargo RUN
	// steps export; SSHDefault the id of the forwarded SSH agent.
	SecretCargoTokens = "cargo-tokens"
	SSHDefault        = "default"
	// OutDir is where the build stage puts the binary.
	OutDir = "/muslrust-chef/out"
	// ArgRecordsPrefix + GOARCH is one architecture's records snippet
	// (cargo metadata, cargo tree, rustc -V, Cargo.lock for the SBOM and
	// the provenance), ArgCrossRecords the cross build's for every triple.
	// They are declared in the build stages only: the cook step's cache
	// key does not depend on them.
	ArgRecordsPrefix = "MUSLRUST_CHEF_RECORDS_"
	ArgCrossRecords  = "MUSLRUST_CHEF_CROSS_RECORDS"
)

// The records the build step writes beside the binary, in RecordsDir of
// the platform's output directory (dist/<os>_<arch>/RecordsDir/ once
// exported). A dot directory: tools that look for the binary skip it.
const (
	RecordsDir = ".muslrust-chef"
	// RecordMetadata is `cargo metadata`'s stdout, RecordTree `cargo
	// tree`'s (both absent when the SBOM is turned off), RecordRustc
	// `rustc -V`'s, RecordLock the workspace's Cargo.lock as built.
	RecordMetadata = "metadata.json"
	RecordTree     = "tree.txt"
	RecordRustc    = "rustc.txt"
	RecordLock     = "Cargo.lock"
)
