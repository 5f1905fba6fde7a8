package sbom

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// ReadCycloneDX reads back a document written by (*SBOM).CycloneDX, e.g.
// one pulled from a registry as a referrer, so it can be printed with
// WriteTable. Rendering the result again with the same RenderOptions gives
// the same bytes.
func ReadCycloneDX(doc []byte) (*SBOM, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(doc), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, fmt.Errorf("sbom: not a CycloneDX JSON document: %w", err)
	}
	if bom.BOMFormat != cdx.BOMFormat || bom.Metadata == nil || bom.Metadata.Component == nil {
		return nil, fmt.Errorf("sbom: the document is not a CycloneDX SBOM with a metadata component (bomFormat %q): read a document muslrust-chef wrote", bom.BOMFormat)
	}
	root := bom.Metadata.Component
	props := propMap(root.Properties)
	s := &SBOM{Binary: root.Name, Triple: props[propTriple], Features: props[propFeatures]}
	var err error
	if s.Root, err = crateFrom(*root); err != nil {
		return nil, err
	}
	s.Root.Name = props[propPackage]
	if s.Root.Name == "" {
		return nil, fmt.Errorf("sbom: the metadata component has no %s property: read a document muslrust-chef wrote", propPackage)
	}
	tool := map[string]bool{}
	if bom.Components != nil {
		for _, comp := range *bom.Components {
			c, err := crateFrom(comp)
			if err != nil {
				return nil, err
			}
			if propMap(comp.Properties)[propBuildTool] == "true" {
				tool[c.ref] = true
				s.BuildTools = append(s.BuildTools, c)
			} else {
				s.Crates = append(s.Crates, c)
			}
		}
	}
	deps := map[string][]string{}
	if bom.Dependencies != nil {
		for _, d := range *bom.Dependencies {
			if d.Dependencies != nil && len(*d.Dependencies) > 0 {
				deps[d.Ref] = append([]string(nil), *d.Dependencies...)
			}
		}
	}
	for _, r := range deps[s.Root.ref] {
		if tool[r] {
			s.RootBuildTools = append(s.RootBuildTools, r)
		} else {
			s.RootDependsOn = append(s.RootDependsOn, r)
		}
	}
	for i := range s.Crates {
		s.Crates[i].DependsOn = deps[s.Crates[i].ref]
	}
	for i := range s.BuildTools {
		s.BuildTools[i].DependsOn = deps[s.BuildTools[i].ref]
	}
	// Components are stored by ref; the SBOM's order is by name.
	sortCrates(s.Crates, make([]string, len(s.Crates)))
	sortCrates(s.BuildTools, make([]string, len(s.BuildTools)))
	return s, nil
}

func propMap(props *[]cdx.Property) map[string]string {
	m := map[string]string{}
	if props != nil {
		for _, p := range *props {
			m[p.Name] = p.Value
		}
	}
	return m
}

func crateFrom(comp cdx.Component) (Crate, error) {
	c := Crate{Name: comp.Name, Version: comp.Version, PURL: comp.PackageURL, ref: comp.BOMRef}
	if comp.Hashes != nil {
		for _, h := range *comp.Hashes {
			if h.Algorithm == cdx.HashAlgoSHA256 {
				c.SHA256 = h.Value
			}
		}
	}
	if comp.Licenses != nil && len(*comp.Licenses) > 0 {
		c.License = (*comp.Licenses)[0].Expression
	}
	props := propMap(comp.Properties)
	src, ok := parseSource(props[propSource], props[propRevision])
	if !ok {
		return c, fmt.Errorf("sbom: component %s has no %s property: read a document muslrust-chef wrote", comp.BOMRef, propSource)
	}
	c.Source = src
	return c, nil
}

// WriteTable prints the SBOM as a table: one line per crate, linked ones
// first, then build tools.
func (s *SBOM) WriteTable(w io.Writer) error {
	head := fmt.Sprintf("%s %s (cargo package %s)", s.Binary, s.Root.Version, s.Root.Name)
	if s.Triple != "" {
		head += " for " + s.Triple
	}
	if s.Features != "" {
		head += ", features: " + s.Features
	}
	if s.Root.Source.Commit != "" {
		head += ", revision " + s.Root.Source.Commit
	}
	fmt.Fprintf(w, "%s: %d linked crates, %d build tools\n", head, len(s.Crates), len(s.BuildTools))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tCRATE\tVERSION\tLICENSE\tSOURCE\tSHA-256")
	row := func(kind string, c Crate) {
		sum := c.SHA256
		if len(sum) > 12 {
			sum = sum[:12]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", kind, c.Name, c.Version, dash(c.License), tableSource(c), dash(sum))
	}
	for _, c := range s.Crates {
		row("linked", c)
	}
	for _, c := range s.BuildTools {
		row("build", c)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("sbom: writing the table: %w", err)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// tableSource is a short origin: "registry", "git <url>@<commit>" or
// "path <dir>".
func tableSource(c Crate) string {
	switch c.Source.Kind {
	case SourceRegistry:
		return "registry"
	case SourceGit:
		commit := c.Source.Commit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		return "git " + c.Source.URL + "@" + commit
	default:
		return "path " + c.Source.Path
	}
}

// parseSource reads back a source as the documents record it (cargo's
// source id; a path crate's revision comes separately).
func parseSource(src, revision string) (Source, bool) {
	switch {
	case strings.HasPrefix(src, "registry+"):
		return Source{Kind: SourceRegistry, URL: strings.TrimPrefix(src, "registry+")}, true
	case strings.HasPrefix(src, "sparse+"):
		return Source{Kind: SourceRegistry, URL: src}, true
	case strings.HasPrefix(src, "git+"):
		u, commit, _ := strings.Cut(strings.TrimPrefix(src, "git+"), "#")
		return Source{Kind: SourceGit, URL: u, Commit: commit}, true
	case strings.HasPrefix(src, "path+"):
		return Source{Kind: SourcePath, Path: strings.TrimPrefix(src, "path+"), Commit: revision}, true
	}
	return Source{}, false
}
