package sbom

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// Media types of the two documents, for files and OCI artifactType.
const (
	MediaTypeCycloneDX = "application/vnd.cyclonedx+json"
	MediaTypeSPDX      = "application/spdx+json"
)

// Property names used in the CycloneDX document.
const (
	propTriple    = "muslrust-chef:target-triple"
	propFeatures  = "muslrust-chef:features"
	propPackage   = "muslrust-chef:cargo-package"
	propSource    = "muslrust-chef:cargo-source"
	propRevision  = "muslrust-chef:source-revision"
	propBuildTool = "muslrust-chef:build-tool"
)

// DefaultNamespace is the base of SPDX documentNamespace when
// WithNamespace is not given.
const DefaultNamespace = "https://spdx.org/spdxdocs/muslrust-chef/"

type renderOptions struct {
	created     *time.Time
	toolVersion string
	namespace   string
}

// RenderOption configures CycloneDX and SPDX.
type RenderOption func(*renderOptions)

// WithTimestamp records t (UTC, to the second) as the document's creation
// time; pass SOURCE_DATE_EPOCH's time for reproducible builds. Without it
// the CycloneDX document has no timestamp and the SPDX one, where the field
// is required, says 1970-01-01T00:00:00Z: never the wall clock.
func WithTimestamp(t time.Time) RenderOption {
	return func(o *renderOptions) { t := t.UTC().Truncate(time.Second); o.created = &t }
}

// WithToolVersion is the kit version named as the documents' creator tool.
func WithToolVersion(v string) RenderOption { return func(o *renderOptions) { o.toolVersion = v } }

// WithNamespace sets the base URI of the SPDX documentNamespace; the
// document's name and a digest of its content are appended, so the
// namespace is unique per content and stable across runs.
func WithNamespace(base string) RenderOption { return func(o *renderOptions) { o.namespace = base } }

func renderOpts(opts []RenderOption) renderOptions {
	o := renderOptions{toolVersion: "devel", namespace: DefaultNamespace}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// sourceString is the crate's origin in cargo's own notation, with path
// crates relative to the workspace root.
func sourceString(c Crate) string {
	switch c.Source.Kind {
	case SourceRegistry:
		if strings.HasPrefix(c.Source.URL, "sparse+") {
			return c.Source.URL
		}
		return "registry+" + c.Source.URL
	case SourceGit:
		return "git+" + c.Source.URL + "#" + c.Source.Commit
	default:
		return "path+" + c.Source.Path
	}
}

// docName names the document after the binary, its version and triple.
func (s *SBOM) docName() string {
	n := s.Binary + "-" + s.Root.Version
	if s.Triple != "" {
		n += "-" + s.Triple
	}
	return n
}

// CycloneDX renders the SBOM as CycloneDX 1.5 JSON. The serial number is
// derived from the content, so equal inputs give equal bytes.
func (s *SBOM) CycloneDX(opts ...RenderOption) ([]byte, error) {
	o := renderOpts(opts)
	bom := cdx.NewBOM()
	meta := &cdx.Metadata{
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "muslrust-chef", Version: o.toolVersion,
		}}},
	}
	if o.created != nil {
		meta.Timestamp = o.created.Format(time.RFC3339)
	}
	root := s.cdxComponent(s.Root, false)
	root.Type = cdx.ComponentTypeApplication
	root.Scope = ""
	root.Name = s.Binary
	props := []cdx.Property{{Name: propPackage, Value: s.Root.Name}}
	if s.Triple != "" {
		props = append(props, cdx.Property{Name: propTriple, Value: s.Triple})
	}
	if s.Features != "" {
		props = append(props, cdx.Property{Name: propFeatures, Value: s.Features})
	}
	props = append(props, *root.Properties...)
	root.Properties = &props
	meta.Component = &root
	bom.Metadata = meta

	comps := make([]cdx.Component, 0, len(s.Crates)+len(s.BuildTools))
	deps := []cdx.Dependency{{Ref: s.Root.ref, Dependencies: refList(append(append([]string(nil), s.RootDependsOn...), s.RootBuildTools...))}}
	for _, c := range s.Crates {
		comps = append(comps, s.cdxComponent(c, false))
		deps = append(deps, cdx.Dependency{Ref: c.ref, Dependencies: refList(c.DependsOn)})
	}
	for _, c := range s.BuildTools {
		comps = append(comps, s.cdxComponent(c, true))
		deps = append(deps, cdx.Dependency{Ref: c.ref, Dependencies: refList(c.DependsOn)})
	}
	sort.SliceStable(comps, func(i, j int) bool { return comps[i].BOMRef < comps[j].BOMRef })
	sort.SliceStable(deps, func(i, j int) bool { return deps[i].Ref < deps[j].Ref })
	bom.Components = &comps
	bom.Dependencies = &deps

	encode := func() ([]byte, error) {
		var buf bytes.Buffer
		enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
		enc.SetPretty(true).SetEscapeHTML(false)
		if err := enc.EncodeVersion(bom, cdx.SpecVersion1_5); err != nil {
			return nil, fmt.Errorf("sbom: encoding CycloneDX: %w", err)
		}
		return buf.Bytes(), nil
	}
	// The serial number is a name-based UUID of the document without it.
	body, err := encode()
	if err != nil {
		return nil, err
	}
	bom.SerialNumber = "urn:uuid:" + contentUUID(body)
	return encode()
}

func refList(refs []string) *[]string {
	out := append([]string{}, refs...)
	sort.Strings(out)
	return &out
}

func (s *SBOM) cdxComponent(c Crate, buildTool bool) cdx.Component {
	comp := cdx.Component{
		BOMRef:     c.ref,
		Type:       cdx.ComponentTypeLibrary,
		Name:       c.Name,
		Version:    c.Version,
		PackageURL: c.PURL,
		Scope:      cdx.ScopeRequired,
	}
	if c.SHA256 != "" {
		comp.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: c.SHA256}}
	}
	if c.License != "" {
		comp.Licenses = &cdx.Licenses{{Expression: c.License}}
	}
	props := []cdx.Property{{Name: propSource, Value: sourceString(c)}}
	if c.Source.Kind == SourcePath && c.Source.Commit != "" {
		props = append(props, cdx.Property{Name: propRevision, Value: c.Source.Commit})
	}
	if c.Source.Kind == SourceGit {
		comp.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeVCS, URL: c.Source.URL, Comment: "commit " + c.Source.Commit}}
	}
	if buildTool {
		// excluded: present at build time, not in the shipped binary.
		comp.Scope = cdx.ScopeExcluded
		props = append(props, cdx.Property{Name: propBuildTool, Value: "true"})
	}
	comp.Properties = &props
	return comp
}

// contentUUID is a name-based (version 5 layout) UUID of b, so documents
// get identifiers that change with their content and nothing else.
func contentUUID(b []byte) string {
	h := sha256.Sum256(b)
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
