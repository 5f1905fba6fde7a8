package sbom

// SourceKind says where cargo took a crate from.
type SourceKind string

const (
	SourceRegistry SourceKind = "registry"
	SourceGit      SourceKind = "git"
	// SourcePath is a crate built from the local tree: a workspace member or
	// a path dependency.
	SourcePath SourceKind = "path"
)

// Source is a crate's origin.
type Source struct {
	Kind SourceKind
	// URL is the registry index URL or the git repository URL (without
	// cargo's "registry+"/"git+" prefix, query and fragment); empty for
	// path crates.
	URL string
	// Commit is the git commit cargo locked; for path crates it is the
	// source revision given with WithSourceRevision.
	Commit string
	// Path is a path crate's directory relative to the workspace root,
	// with forward slashes ("." for the root package); never absolute, so
	// the document does not depend on where the workspace was checked out.
	Path string
}

// Crate is one package in the SBOM.
type Crate struct {
	Name    string
	Version string
	// PURL is pkg:cargo/<name>@<version>.
	PURL string
	// SHA256 is the Cargo.lock checksum (hex); empty for path and git crates,
	// which Cargo.lock does not checksum.
	SHA256 string
	Source Source
	// License is the manifest's license expression ("/" normalised to
	// " OR "); empty when the manifest has only license-file or nothing.
	License string
	// DependsOn lists the PURL-based refs (see Ref) of the crates this one
	// depends on within the same list (linked crates for linked ones, build
	// tools or linked crates for build tools), sorted.
	DependsOn []string
	// ref is the unique bom-ref / SPDX element key.
	ref string
}

// Ref is the crate's unique reference inside the document: its PURL, with
// a suffix when two crates share a name and version (two sources).
func (c Crate) Ref() string { return c.ref }

// SBOM is the linked closure of one binary for one triple and feature set.
type SBOM struct {
	// Root is the workspace package that holds the binary.
	Root Crate
	// Binary is the binary target's name.
	Binary string
	// Triple and Features describe the build the list is for; they are
	// recorded in the documents.
	Triple   string
	Features string
	// Crates are the crates compiled into the binary (Root excluded),
	// sorted by name, version and source.
	Crates []Crate
	// BuildTools are crates only used at build time (build scripts,
	// proc-macros and their dependencies) that are not also linked; nil
	// unless WithBuildTools was given.
	BuildTools []Crate
	// RootDependsOn and RootBuildTools are the refs of Root's direct linked
	// dependencies and of its direct build-time dependencies.
	RootDependsOn  []string
	RootBuildTools []string
}
