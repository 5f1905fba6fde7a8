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

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/muslrust-chef/muslrust-chef/pkg/cargo"
)

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

type options struct {
	pkg, bin, triple, features, revision string
	buildTools                           bool
	tree                                 []byte
}

// Option configures Resolve.
type Option func(*options)

// WithPackage names the workspace package that holds the binary; needed
// when the workspace has more than one member.
func WithPackage(name string) Option { return func(o *options) { o.pkg = name } }

// WithBinary names the binary target; it must be a bin target of the
// package. Default: the package's only bin target.
func WithBinary(name string) Option { return func(o *options) { o.bin = name } }

// WithTriple records the target triple metadata was filtered for. Resolve
// cannot check it (metadata does not record --filter-platform), so pass
// the one given to MetadataArgs.
func WithTriple(triple string) Option { return func(o *options) { o.triple = triple } }

// WithFeatures records the feature flags of the build in the documents
// (e.g. "--features tls --no-default-features"); informative only.
func WithFeatures(desc string) Option { return func(o *options) { o.features = desc } }

// WithSourceRevision sets the revision (e.g. a git commit) of the local
// source tree; path crates carry it as their Source.Commit.
func WithSourceRevision(rev string) Option { return func(o *options) { o.revision = rev } }

// WithBuildTools also lists build-time-only crates (build-dependencies,
// proc-macros and what they depend on), marked as build tools.
func WithBuildTools(on bool) Option { return func(o *options) { o.buildTools = on } }

// FromFlags are the options that follow from the build's cargo flags:
// its package, binary, triple and feature flags. Pass the same Flags as
// to MetadataArgs.
func FromFlags(f cargo.Flags) []Option {
	return []Option{WithPackage(f.Package), WithBinary(f.Bin), WithTriple(f.Triple), WithFeatures(f.FeatureDescription())}
}

// WithCargoTree restricts the linked crates to those listed in the output
// of the command TreeArgs gives (run with the same flags as cargo
// metadata). cargo metadata resolves features for every workspace member
// and for dev-dependencies at once, so alone it may list an optional crate
// that only a sibling member or a dev-dependency enables; cargo tree
// resolves as the build does. Use it whenever the tree can be run.
func WithCargoTree(out []byte) Option { return func(o *options) { o.tree = out } }

// parseTree reads `cargo tree --prefix none --format {p}` output: the
// package itself, then "name vversion[ (source)][ (*)]" per dependency.
func parseTree(out []byte) (root string, pkgs map[string]bool, err error) {
	pkgs = map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[1], "v") {
			return "", nil, fmt.Errorf("sbom: cargo tree output line %q is not \"name vversion\": pass the stdout of the command TreeArgs gives", line)
		}
		if root == "" {
			root = f[0]
		}
		pkgs[f[0]+"\x00"+strings.TrimPrefix(f[1], "v")] = true
	}
	if root == "" {
		return "", nil, errors.New("sbom: cargo tree output is empty: pass the stdout of the command TreeArgs gives")
	}
	return root, pkgs, nil
}

// metadata is the part of `cargo metadata --format-version 1` read here.
type metadata struct {
	Packages []struct {
		ID           string  `json:"id"`
		Name         string  `json:"name"`
		Version      string  `json:"version"`
		Source       *string `json:"source"`
		License      *string `json:"license"`
		ManifestPath string  `json:"manifest_path"`
		Targets      []struct {
			Name string   `json:"name"`
			Kind []string `json:"kind"`
		} `json:"targets"`
	} `json:"packages"`
	WorkspaceMembers []string `json:"workspace_members"`
	WorkspaceRoot    string   `json:"workspace_root"`
	Resolve          *struct {
		Nodes []struct {
			ID   string `json:"id"`
			Deps []struct {
				Pkg      string `json:"pkg"`
				DepKinds []struct {
					Kind *string `json:"kind"`
				} `json:"dep_kinds"`
			} `json:"deps"`
		} `json:"nodes"`
	} `json:"resolve"`
}

type lockfile struct {
	Package []struct {
		Name     string `toml:"name"`
		Version  string `toml:"version"`
		Source   string `toml:"source"`
		Checksum string `toml:"checksum"`
	} `toml:"package"`
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

type edgeKind int

const (
	edgeNormal edgeKind = 1 << iota
	edgeBuild
)

type node struct {
	procMac  bool
	deps     map[string]edgeKind // package id -> kinds, dev edges dropped
	linked   bool
	buildUse bool
}

// Resolve computes the SBOM of one binary from the JSON output of
// `cargo metadata --format-version 1 --filter-platform <triple>` (run with
// the build's feature flags, see MetadataArgs) and the Cargo.lock text.
func Resolve(metadataJSON, cargoLock []byte, opts ...Option) (*SBOM, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	var md metadata
	if err := json.Unmarshal(metadataJSON, &md); err != nil {
		return nil, fmt.Errorf("sbom: cargo metadata output is not JSON: %w; pass the stdout of cargo metadata --format-version 1", err)
	}
	if md.Resolve == nil {
		return nil, errors.New("sbom: cargo metadata output has no resolve graph: run cargo metadata without --no-deps")
	}
	if len(md.Packages) == 0 || md.WorkspaceRoot == "" {
		return nil, errors.New("sbom: cargo metadata output has no packages or no workspace_root: pass the stdout of cargo metadata --format-version 1")
	}
	var lock lockfile
	if err := toml.Unmarshal(cargoLock, &lock); err != nil {
		return nil, fmt.Errorf("sbom: Cargo.lock: %w", err)
	}
	checksums := map[string]string{}
	for _, p := range lock.Package {
		// Debian's packaged crates lock "Could not get crate checksum"
		// when they have none: only a real SHA-256 is recorded as one.
		if sha256Hex.MatchString(p.Checksum) {
			checksums[p.Name+"\x00"+p.Version+"\x00"+p.Source] = p.Checksum
		}
	}

	byID := map[string]int{}
	for i, p := range md.Packages {
		byID[p.ID] = i
	}
	rootID, err := pickPackage(&md, byID, o.pkg, o.bin)
	if err != nil {
		return nil, err
	}
	rootPkg := md.Packages[byID[rootID]]
	bin, err := pickBinary(rootPkg.Name, rootPkg.Targets, o.bin)
	if err != nil {
		return nil, err
	}

	// inTree says whether cargo tree (if given) lists a package.
	inTree := func(string) bool { return true }
	if o.tree != nil {
		treeRoot, listed, err := parseTree(o.tree)
		if err != nil {
			return nil, err
		}
		if treeRoot != rootPkg.Name {
			return nil, fmt.Errorf("sbom: cargo tree was run for package %s, not %s: run it with -p %s", treeRoot, rootPkg.Name, rootPkg.Name)
		}
		inTree = func(id string) bool {
			p := md.Packages[byID[id]]
			return listed[p.Name+"\x00"+p.Version]
		}
	}

	nodes := map[string]*node{}
	for _, n := range md.Resolve.Nodes {
		i, ok := byID[n.ID]
		if !ok {
			return nil, fmt.Errorf("sbom: cargo metadata resolve names package %s that is not in packages: the output is inconsistent, re-run cargo metadata", n.ID)
		}
		nd := &node{deps: map[string]edgeKind{}}
		for _, t := range md.Packages[i].Targets {
			for _, k := range t.Kind {
				if k == "proc-macro" {
					nd.procMac = true
				}
			}
		}
		for _, d := range n.Deps {
			var k edgeKind
			for _, dk := range d.DepKinds {
				switch {
				case dk.Kind == nil:
					k |= edgeNormal
				case *dk.Kind == "build":
					k |= edgeBuild
				}
			}
			if k != 0 {
				nd.deps[d.Pkg] = k
			}
		}
		nodes[n.ID] = nd
	}
	if nodes[rootID] == nil {
		return nil, fmt.Errorf("sbom: package %s is not in cargo metadata's resolve graph", rootPkg.Name)
	}

	// Linked: the closure of normal edges from the root, stopping at
	// proc-macros, which run inside rustc and are not linked.
	var linkQueue []string
	var buildQueue []string
	enqueue := func(deps map[string]edgeKind) {
		for dep, k := range deps {
			if k&edgeNormal != 0 {
				if nodes[dep] != nil && nodes[dep].procMac {
					buildQueue = append(buildQueue, dep)
				} else {
					linkQueue = append(linkQueue, dep)
				}
			}
			if k&edgeBuild != 0 {
				buildQueue = append(buildQueue, dep)
			}
		}
	}
	enqueue(nodes[rootID].deps)
	for len(linkQueue) > 0 {
		id := linkQueue[0]
		linkQueue = linkQueue[1:]
		nd := nodes[id]
		if nd == nil {
			return nil, fmt.Errorf("sbom: dependency %s is not in cargo metadata's resolve graph", id)
		}
		if nd.linked || !inTree(id) {
			continue
		}
		nd.linked = true
		enqueue(nd.deps)
	}
	// Build tools: everything a build script or proc-macro needs, through
	// normal and build edges alike.
	for len(buildQueue) > 0 {
		id := buildQueue[0]
		buildQueue = buildQueue[1:]
		nd := nodes[id]
		if nd == nil {
			return nil, fmt.Errorf("sbom: dependency %s is not in cargo metadata's resolve graph", id)
		}
		if nd.buildUse {
			continue
		}
		nd.buildUse = true
		for dep := range nd.deps {
			buildQueue = append(buildQueue, dep)
		}
	}

	mk := func(id string) (Crate, error) {
		p := md.Packages[byID[id]]
		c := Crate{Name: p.Name, Version: p.Version, PURL: "pkg:cargo/" + p.Name + "@" + p.Version}
		if p.License != nil {
			c.License = normalizeLicense(*p.License)
		}
		src := ""
		if p.Source != nil {
			src = *p.Source
		}
		switch {
		case src == "":
			rel, err := filepath.Rel(md.WorkspaceRoot, filepath.Dir(p.ManifestPath))
			if err != nil {
				return c, fmt.Errorf("sbom: path crate %s: %w", p.Name, err)
			}
			c.Source = Source{Kind: SourcePath, Path: filepath.ToSlash(rel), Commit: o.revision}
		case strings.HasPrefix(src, "registry+"), strings.HasPrefix(src, "sparse+"):
			u := strings.TrimPrefix(src, "registry+")
			c.Source = Source{Kind: SourceRegistry, URL: u}
			c.SHA256 = checksums[p.Name+"\x00"+p.Version+"\x00"+src]
		case strings.HasPrefix(src, "git+"):
			u, commit, _ := strings.Cut(strings.TrimPrefix(src, "git+"), "#")
			u, _, _ = strings.Cut(u, "?")
			c.Source = Source{Kind: SourceGit, URL: u, Commit: commit}
		default:
			return c, fmt.Errorf("sbom: crate %s %s has source %q of a kind this kit does not know (registry+, sparse+, git+ or a path)", p.Name, p.Version, src)
		}
		return c, nil
	}

	root, err := mk(rootID)
	if err != nil {
		return nil, err
	}
	s := &SBOM{Root: root, Binary: bin, Triple: o.triple, Features: o.features}
	var linked, tools []string
	for id, nd := range nodes {
		switch {
		case id == rootID:
		case nd.linked:
			linked = append(linked, id)
		case nd.buildUse && o.buildTools:
			tools = append(tools, id)
		}
	}
	refs := map[string]string{}
	build := func(ids []string) ([]Crate, error) {
		out := make([]Crate, 0, len(ids))
		for _, id := range ids {
			c, err := mk(id)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	if s.Crates, err = build(linked); err != nil {
		return nil, err
	}
	if s.BuildTools, err = build(tools); err != nil {
		return nil, err
	}
	if !o.buildTools {
		s.BuildTools = nil
	}
	sortCrates(s.Crates, linked)
	sortCrates(s.BuildTools, tools)

	// Refs: the PURL, numbered when name@version repeats (two sources).
	seen := map[string]int{root.PURL: 1}
	s.Root.ref = root.PURL
	refs[rootID] = root.PURL
	assign := func(cs []Crate, ids []string) {
		for i := range cs {
			r := cs[i].PURL
			if n := seen[r]; n > 0 {
				r = fmt.Sprintf("%s#%d", r, n+1)
			}
			seen[cs[i].PURL]++
			cs[i].ref = r
			refs[ids[i]] = r
		}
	}
	assign(s.Crates, linked)
	assign(s.BuildTools, tools)

	depsOf := func(id string, wantLinked bool) []string {
		var out []string
		for dep, k := range nodes[id].deps {
			r, ok := refs[dep]
			if !ok || dep == rootID {
				continue
			}
			if wantLinked && (k&edgeNormal == 0 || !nodes[dep].linked) {
				continue
			}
			out = append(out, r)
		}
		sort.Strings(out)
		return out
	}
	for i, id := range linked {
		s.Crates[i].DependsOn = depsOf(id, true)
	}
	for i, id := range tools {
		if o.buildTools {
			s.BuildTools[i].DependsOn = depsOf(id, false)
		}
	}
	for dep, k := range nodes[rootID].deps {
		r, ok := refs[dep]
		if !ok {
			continue
		}
		if k&edgeNormal != 0 && nodes[dep].linked {
			s.RootDependsOn = append(s.RootDependsOn, r)
		}
		if (k&edgeBuild != 0 || nodes[dep].procMac) && !nodes[dep].linked {
			s.RootBuildTools = append(s.RootBuildTools, r)
		}
	}
	sort.Strings(s.RootDependsOn)
	sort.Strings(s.RootBuildTools)
	return s, nil
}

// sortCrates orders crates (and their ids alongside) by name, version and
// source, so the documents do not depend on map order.
func sortCrates(cs []Crate, ids []string) {
	idx := make([]int, len(cs))
	for i := range idx {
		idx[i] = i
	}
	key := func(c Crate) string {
		return c.Name + "\x00" + c.Version + "\x00" + string(c.Source.Kind) + "\x00" + c.Source.URL + "\x00" + c.Source.Commit + "\x00" + c.Source.Path
	}
	sort.SliceStable(idx, func(a, b int) bool { return key(cs[idx[a]]) < key(cs[idx[b]]) })
	cc := append([]Crate(nil), cs...)
	ii := append([]string(nil), ids...)
	for i, j := range idx {
		cs[i], ids[i] = cc[j], ii[j]
	}
}

// pickPackage finds the workspace member named name; without a name, the
// only member, or the only member with a binary named bin (as cargo build
// --bin finds it).
func pickPackage(md *metadata, byID map[string]int, name, bin string) (string, error) {
	var names, withBin []string
	var binIDs []string
	for _, id := range md.WorkspaceMembers {
		i, ok := byID[id]
		if !ok {
			return "", fmt.Errorf("sbom: workspace member %s is not in cargo metadata's packages: the output is inconsistent, re-run cargo metadata", id)
		}
		p := md.Packages[i]
		if name != "" && p.Name == name {
			return id, nil
		}
		names = append(names, p.Name)
		for _, t := range p.Targets {
			if t.Name == bin && slices.Contains(t.Kind, "bin") {
				withBin = append(withBin, p.Name)
				binIDs = append(binIDs, id)
			}
		}
	}
	sort.Strings(names)
	switch {
	case name != "":
		return "", fmt.Errorf("sbom: package %q is not a workspace member (members: %s): name one of them", name, strings.Join(names, ", "))
	case len(md.WorkspaceMembers) == 1:
		return md.WorkspaceMembers[0], nil
	case bin != "" && len(binIDs) == 1:
		return binIDs[0], nil
	case bin != "" && len(binIDs) > 1:
		sort.Strings(withBin)
		return "", fmt.Errorf("sbom: packages %s all have a binary %q: name the package (WithPackage)", strings.Join(withBin, ", "), bin)
	case bin != "":
		return "", fmt.Errorf("sbom: no workspace package has a binary %q (members: %s): name an existing binary", bin, strings.Join(names, ", "))
	}
	return "", fmt.Errorf("sbom: the workspace has %d packages (%s): name the binary's package (WithPackage)", len(names), strings.Join(names, ", "))
}

func pickBinary(pkg string, targets []struct {
	Name string   `json:"name"`
	Kind []string `json:"kind"`
}, name string) (string, error) {
	var bins []string
	for _, t := range targets {
		for _, k := range t.Kind {
			if k == "bin" {
				bins = append(bins, t.Name)
			}
		}
	}
	sort.Strings(bins)
	for _, b := range bins {
		if b == name {
			return b, nil
		}
	}
	switch {
	case name == "" && len(bins) == 1:
		return bins[0], nil
	case name == "" && len(bins) == 0:
		return "", fmt.Errorf("sbom: package %s has no binary target: name a package with a [[bin]] or src/main.rs", pkg)
	case name == "":
		return "", fmt.Errorf("sbom: package %s has %d binaries (%s): name one (WithBinary)", pkg, len(bins), strings.Join(bins, ", "))
	}
	return "", fmt.Errorf("sbom: package %s has no binary %q (binaries: %s): name one of them", pkg, name, strings.Join(bins, ", "))
}

// normalizeLicense turns Cargo's deprecated "MIT/Apache-2.0" into the SPDX
// expression "MIT OR Apache-2.0".
func normalizeLicense(l string) string {
	l = strings.TrimSpace(l)
	if !strings.Contains(l, "/") {
		return l
	}
	parts := strings.Split(l, "/")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, " OR ")
}
