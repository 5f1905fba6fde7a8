package sbom

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/muslrust-chef/muslrust-chef/internal/redact"
)

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
			u := redact.Userinfo(strings.TrimPrefix(src, "registry+"))
			c.Source = Source{Kind: SourceRegistry, URL: u}
			c.SHA256 = checksums[p.Name+"\x00"+p.Version+"\x00"+src]
		case strings.HasPrefix(src, "git+"):
			u, commit, _ := strings.Cut(strings.TrimPrefix(src, "git+"), "#")
			u, _, _ = strings.Cut(u, "?")
			c.Source = Source{Kind: SourceGit, URL: redact.Userinfo(u), Commit: commit}
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
